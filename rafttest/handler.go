package rafttest

import (
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// command runs one directive of a scenario file. Mistakes in the directive
// itself (a missing or malformed argument) fail the test through t; errors
// returned by the library are part of the behaviour under test and are
// returned, to be printed in the output.
type command func(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error

// commands maps each directive to its handler. Each handler lives in the
// file named after it (cmd_<name>.go).
var commands = map[string]command{
	"add-nodes":                       handleAddNodes,
	"campaign":                        handleCampaign,
	"compact":                         handleCompact,
	"deliver-msgs":                    handleDeliverMsgs,
	"forget-leader":                   handleForgetLeader,
	"log-level":                       handleLogLevel,
	"process-append-thread":           handleProcessAppendThread,
	"process-apply-thread":            handleProcessApplyThread,
	"process-ready":                   handleProcessReady,
	"propose":                         handlePropose,
	"propose-conf-change":             handleProposeConfChange,
	"raft-log":                        handleRaftLog,
	"raft-state":                      handleRaftState,
	"read-index":                      handleReadIndex,
	"report-snapshot":                 handleReportSnapshot,
	"report-unreachable":              handleReportUnreachable,
	"restart-node":                    handleRestartNode,
	"send-snapshot":                   handleSendSnapshot,
	"set-randomized-election-timeout": handleSetRandomizedElectionTimeout,
	"stabilize":                       handleStabilize,
	"status":                          handleStatus,
	"tick-election":                   handleTickElection,
	"tick-heartbeat":                  handleTickHeartbeat,
	"transfer-leadership":             handleTransferLeadership,
}

// Handle runs one datadriven directive against env and returns what it
// printed: the nodes' log lines at the current log level and the
// command's own output, or "ok" when there was nothing to print. An error
// returned by the library is printed as "error: ..." at the end.
//
// Use it as the function passed to datadriven.RunTest:
//
//	env := rafttest.NewInteractionEnv(nil)
//	datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
//		return env.Handle(t, d)
//	})
func (env *InteractionEnv) Handle(t *testing.T, d *datadriven.TestData) string {
	t.Helper()
	cmd, ok := commands[d.Cmd]
	if !ok {
		t.Fatalf("%s: unknown command %q; known commands: %s", d.Pos, d.Cmd, strings.Join(commandNames(), ", "))
	}
	env.out.take()
	if err := cmd(env, t, d); err != nil {
		env.out.indent = 0
		env.out.printf("error: %v", err)
	}
	if s := env.out.take(); s != "" {
		return s
	}
	return "ok"
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
