package rafttest

import (
	"errors"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleSetRandomizedElectionTimeout parses
//
//	set-randomized-election-timeout <id> timeout=<ticks>
//
// and fixes the number of ticks after which node id's election timer next
// fires. Raft draws that number at random from [ElectionTick,
// 2*ElectionTick) each time the node resets its timer, and draws again at
// the next reset; scenarios use this command to decide which node times
// out first.
func handleSetRandomizedElectionTimeout(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	id := exactlyOneNodeID(t, d)
	var timeout int
	d.ScanArgs(t, "timeout", &timeout)
	return env.SetRandomizedElectionTimeout(id, timeout)
}

// SetRandomizedElectionTimeout calls Options.SetRandomizedElectionTimeout
// for node id.
func (env *InteractionEnv) SetRandomizedElectionTimeout(id uint64, timeout int) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	if env.Options.SetRandomizedElectionTimeout == nil {
		return errors.New("the environment has no Options.SetRandomizedElectionTimeout hook")
	}
	env.Options.SetRandomizedElectionTimeout(n.RawNode, timeout)
	return nil
}
