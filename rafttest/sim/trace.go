package sim

import (
	"fmt"
	"io"
	"strings"

	"github.com/quorate/raft"
)

// tracer writes the trace of a run: one line per event, prefixed with the
// step number and the virtual time in ticks.
type tracer struct {
	w io.Writer
	c *cluster
}

// tracef writes a trace line if the run is traced. NB: callers whose
// arguments are costly to build check c.tr != nil first.
func (c *cluster) tracef(format string, args ...any) {
	if c.tr == nil {
		return
	}
	prefix := fmt.Sprintf("%7d %9.2f  ", c.step, float64(c.now)/TickUnits)
	line := fmt.Sprintf(format, args...)
	// Multi-line texts (a Ready) are indented under their first line.
	line = strings.ReplaceAll(strings.TrimRight(line, "\n"), "\n", "\n"+strings.Repeat(" ", len(prefix)+2))
	fmt.Fprintf(c.tr.w, "%s%s\n", prefix, line)
}

// raftLogger is the raft.Logger of a node: silent unless the trace asks for
// the nodes' log lines, which then go into the trace at info level and
// above. Fatal and Panic panic, as the interface requires; the run reports
// it as a Panic violation.
type raftLogger struct {
	c  *cluster
	id uint64
}

var _ raft.Logger = raftLogger{}

func (l raftLogger) print(level string, msg string) {
	if l.c.tr != nil && l.c.opts.RaftLog {
		l.c.tracef("    %d %s %s", l.id, level, msg)
	}
}

func (l raftLogger) enabled() bool { return l.c.tr != nil && l.c.opts.RaftLog }

func (l raftLogger) Debug(...any)          {}
func (l raftLogger) Debugf(string, ...any) {}
func (l raftLogger) Info(v ...any) {
	if l.enabled() {
		l.print("INFO", fmt.Sprint(v...))
	}
}
func (l raftLogger) Infof(format string, v ...any) {
	if l.enabled() {
		l.print("INFO", fmt.Sprintf(format, v...))
	}
}
func (l raftLogger) Warning(v ...any) {
	if l.enabled() {
		l.print("WARN", fmt.Sprint(v...))
	}
}
func (l raftLogger) Warningf(format string, v ...any) {
	if l.enabled() {
		l.print("WARN", fmt.Sprintf(format, v...))
	}
}
func (l raftLogger) Error(v ...any) {
	if l.enabled() {
		l.print("ERROR", fmt.Sprint(v...))
	}
}
func (l raftLogger) Errorf(format string, v ...any) {
	if l.enabled() {
		l.print("ERROR", fmt.Sprintf(format, v...))
	}
}
func (l raftLogger) Fatal(v ...any) { l.fail(fmt.Sprint(v...)) }
func (l raftLogger) Fatalf(format string, v ...any) {
	l.fail(fmt.Sprintf(format, v...))
}
func (l raftLogger) Panic(v ...any) { l.fail(fmt.Sprint(v...)) }
func (l raftLogger) Panicf(format string, v ...any) {
	l.fail(fmt.Sprintf(format, v...))
}

func (l raftLogger) fail(msg string) {
	l.print("FATAL", msg)
	panic(fmt.Sprintf("node %d: %s", l.id, msg))
}

// describe renders the plan on one line for the trace.
func (p *Plan) describe() string {
	c := &p.Config
	var async []int
	for id := 1; id <= p.Nodes; id++ {
		if p.AsyncStorageWrites[id] {
			async = append(async, id)
		}
	}
	ro := "safe"
	if c.ReadOnlyOption == raft.ReadOnlyLeaseBased {
		ro = "lease"
	}
	return fmt.Sprintf("voters=%d nodes=%d lockstep=%t marshal=%t split-ready=%t stop-removed=%t durable-sm=%.1f async=%v "+
		"election=%d heartbeat=%d checkquorum=%t prevote=%t read-only=%s max-size=%d max-inflight=%d max-inflight-bytes=%d "+
		"max-uncommitted=%d max-committed-per-ready=%d no-forwarding=%t step-down-on-removal=%t no-cc-validation=%t "+
		"net=%+v faults=%+v work=%+v",
		p.Voters, p.Nodes, p.LockStep, p.Marshal, p.SplitReady, p.StopRemoved, p.DurableStateMachine, async,
		c.ElectionTick, c.HeartbeatTick, c.CheckQuorum, c.PreVote, ro, c.MaxSizePerMsg, c.MaxInflightMsgs, c.MaxInflightBytes,
		c.MaxUncommittedEntriesSize, c.MaxCommittedSizePerReady, c.DisableProposalForwarding, c.StepDownOnRemoval,
		c.DisableConfChangeValidation, p.Net, p.Faults, p.Work)
}
