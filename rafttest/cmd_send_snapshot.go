package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
	pb "github.com/quorate/raft/raftpb"
)

// handleSendSnapshot parses
//
//	send-snapshot <from> <to>
//
// and queues a MsgSnap from node from to node to carrying from's latest
// stored snapshot (see compact), at from's current term. It stands for a
// snapshot that reaches the follower outside the leader's own flow
// control, e.g. one the application sent on its own that arrives late.
// from should be the leader: a follower takes a MsgSnap of its own term
// as coming from its leader.
func handleSendSnapshot(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	from, rest := singleNodeID(t, d)
	if len(rest) != 1 {
		t.Fatalf("%s: send-snapshot takes the sending and the receiving node, got %v", d.Pos, positional(d))
	}
	return env.SendSnapshot(from, parseID(t, d, rest[0]))
}

// SendSnapshot queues a MsgSnap from node from to node to and prints it.
func (env *InteractionEnv) SendSnapshot(from, to uint64) error {
	n, err := env.node(from)
	if err != nil {
		return err
	}
	if _, err := env.node(to); err != nil {
		return err
	}
	snap, err := n.Storage.Snapshot()
	if err != nil {
		return err
	}
	m := pb.Message{Type: pb.MsgSnap, From: from, To: to, Term: n.BasicStatus().Term, Snapshot: &snap}
	env.printMessage(m)
	env.send(m)
	return nil
}
