package rafttest

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/datadriven"
	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/require"
)

func TestOutputIndentsEveryLine(t *testing.T) {
	o := newOutput()
	o.printf("top")
	o.nest(func() {
		o.printf("a\nb")
		o.nest(func() { o.Write([]byte("c\n\nd\n")) })
	})
	o.printf("end")
	got, want := o.take(), "top\n  a\n  b\n    c\n\n    d\nend\n"
	require.Equal(t, want, got)
	require.Equal(t, "", o.take(), "take must reset the buffer")
}

func TestLoggerFiltersByLevel(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  string
	}{
		{level: "debug", want: "DEBUG d\nINFO i\nWARN w\nERROR e\n"},
		{level: "info", want: "INFO i\nWARN w\nERROR e\n"},
		{level: "warning", want: "WARN w\nERROR e\n"},
		{level: "ERROR", want: "ERROR e\n"},
		{level: "none", want: ""},
	} {
		t.Run(tc.level, func(t *testing.T) {
			o := newOutput()
			level, err := parseLogLevel(tc.level)
			require.NoError(t, err)
			o.level = level
			l := logger{out: o}
			l.Debug("d")
			l.Infof("%s", "i")
			l.Warning("w")
			l.Errorf("e")
			require.Equal(t, tc.want, o.take())
		})
	}
	t.Run("unknown level", func(t *testing.T) {
		_, err := parseLogLevel("loud")
		require.Error(t, err)
	})
	t.Run("panic and fatal panic even when silenced", func(t *testing.T) {
		o := newOutput()
		o.level = levelNone
		require.PanicsWithValue(t, "boom 1", func() { logger{out: o}.Panicf("boom %d", 1) })
		require.PanicsWithValue(t, "bust", func() { logger{out: o}.Fatal("bust") })
		require.Equal(t, "", o.take())
	})
}

func TestTakeMessages(t *testing.T) {
	msg := func(to uint64, typ pb.MessageType, index uint64) pb.Message {
		return pb.Message{To: to, From: 9, Type: typ, Index: index}
	}
	queue := []pb.Message{
		msg(1, pb.MsgApp, 1), msg(2, pb.MsgApp, 2), msg(1, pb.MsgHeartbeat, 3),
		msg(1, pb.MsgApp, 4), msg(1, pb.MsgApp, 5),
	}
	app := pb.MsgApp
	for _, tc := range []struct {
		name      string
		filter    msgFilter
		taken     []uint64 // Index of the messages taken, in order
		remaining []uint64
	}{
		{name: "all to node 1", filter: msgFilter{to: 1}, taken: []uint64{1, 3, 4, 5}, remaining: []uint64{2}},
		{name: "by type", filter: msgFilter{to: 1, typ: &app}, taken: []uint64{1, 4, 5}, remaining: []uint64{2, 3}},
		{name: "first two of a type", filter: msgFilter{to: 1, typ: &app, count: 2}, taken: []uint64{1, 4}, remaining: []uint64{2, 3, 5}},
		{name: "nothing to node 3", filter: msgFilter{to: 3}, taken: nil, remaining: []uint64{1, 2, 3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := NewInteractionEnv(nil)
			env.Messages = append([]pb.Message(nil), queue...)
			indexes := func(ms []pb.Message) []uint64 {
				var out []uint64
				for _, m := range ms {
					out = append(out, m.Index)
				}
				return out
			}
			require.Equal(t, tc.taken, indexes(env.takeMessages(tc.filter)))
			require.Equal(t, tc.remaining, indexes(env.Messages))
		})
	}
}

func TestTakeWork(t *testing.T) {
	mk := func(n int) []pb.Message {
		q := make([]pb.Message, n)
		for i := range q {
			q[i].Index = uint64(i + 1)
		}
		return q
	}
	for _, tc := range []struct {
		name          string
		count         int
		took, remains int
	}{
		{name: "all", count: -1, took: 3, remains: 0},
		{name: "some", count: 2, took: 2, remains: 1},
		{name: "more than queued", count: 5, took: 3, remains: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := mk(3)
			work := takeWork(&q, tc.count)
			require.Len(t, work, tc.took)
			require.Len(t, q, tc.remains)
			if tc.remains > 0 {
				require.Equal(t, uint64(tc.took+1), q[0].Index, "the queue must keep its order")
			}
		})
	}
}

// TestHandleReportsLibraryErrors runs a short scenario through Handle: an
// error from the library (a proposal without a leader) is printed, not
// fatal, and a command without output prints "ok".
func TestHandleReportsLibraryErrors(t *testing.T) {
	env := NewInteractionEnv(nil)
	datadriven.RunTestFromString(t, `
add-nodes 1 voters=(1) index=5
----
INFO 1 applies configuration voters=(1)
INFO 1 is a follower in term 1
INFO 1 starts: voters [1], term 1, commit 5, applied 5, last entry 5@1

log-level none
----
ok

propose 1 a
----
error: raft proposal dropped

set-randomized-election-timeout 1 timeout=3
----
error: the environment has no Options.SetRandomizedElectionTimeout hook

raft-state
----
1: StateFollower (Voter) Term:1 Lead:0 Commit:5
`, func(t *testing.T, d *datadriven.TestData) string {
		return env.Handle(t, d)
	})
}

func TestConfAt(t *testing.T) {
	n := &Node{}
	n.recordConf(10, pb.ConfState{Voters: []uint64{1}})
	n.recordConf(15, pb.ConfState{Voters: []uint64{1, 2}})
	n.recordConf(20, pb.ConfState{Voters: []uint64{1, 2, 3}})
	for _, tc := range []struct {
		index uint64
		want  []uint64
	}{
		{index: 10, want: []uint64{1}},
		{index: 14, want: []uint64{1}},
		{index: 15, want: []uint64{1, 2}},
		{index: 99, want: []uint64{1, 2, 3}},
	} {
		t.Run(fmt.Sprintf("index %d", tc.index), func(t *testing.T) {
			cs, err := n.confAt(tc.index)
			require.NoError(t, err)
			require.Equal(t, tc.want, cs.Voters)
		})
	}
	_, err := n.confAt(9)
	require.Error(t, err, "no configuration is known before the first one")

	// A snapshot restored at 12 replaces what was recorded after it.
	n.recordConf(12, pb.ConfState{Voters: []uint64{4}})
	cs, err := n.confAt(30)
	require.NoError(t, err)
	require.Equal(t, []uint64{4}, cs.Voters)
}
