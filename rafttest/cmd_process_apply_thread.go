package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
	pb "github.com/quorate/raft/raftpb"
)

// handleProcessApplyThread parses
//
//	process-apply-thread <id>... [count=<n>]
//
// and runs the apply thread of each named node (see ProcessApplyThread).
func handleProcessApplyThread(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	count := -1
	d.MaybeScanArgs(t, "count", &count)
	for _, id := range nodeIDs(env, t, d) {
		if err := env.ProcessApplyThread(id, count); err != nil {
			return err
		}
	}
	return nil
}

// ProcessApplyThread plays the apply thread of a node with
// AsyncStorageWrites: it takes the first count queued MsgStorageApply
// messages (all of them when count < 0), applies the committed entries
// each carries and then queues its responses, the MsgStorageApplyResp
// that tells the node the entries are applied.
func (env *InteractionEnv) ProcessApplyThread(id uint64, count int) error {
	return env.runStorageThread(id, count, "apply", func(n *Node) *[]pb.Message { return &n.ApplyWork },
		func(n *Node, m pb.Message) error { return n.apply(m.Entries) })
}
