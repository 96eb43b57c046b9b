package rafttest

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleStabilize parses
//
//	stabilize [<id>...]
//
// and runs Stabilize over the named nodes, or all of them.
func handleStabilize(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	return env.Stabilize(nodeIDs(env, t, d)...)
}

// maxStabilizeRounds bounds Stabilize. Without ticks a Raft group always
// falls quiet after a few rounds; running out means a livelock in the
// library.
const maxStabilizeRounds = 1000

// Stabilize repeats rounds until one does nothing. In a round, each of the
// given nodes in turn handles its Ready if it has one; then each receives
// the messages queued for it; then each node with AsyncStorageWrites runs
// its append thread and its apply thread if they have work. Messages to
// nodes outside ids stay queued.
func (env *InteractionEnv) Stabilize(ids ...uint64) error {
	nodes := make([]*Node, len(ids))
	for i, id := range ids {
		n, err := env.node(id)
		if err != nil {
			return err
		}
		nodes[i] = n
	}
	for range maxStabilizeRounds {
		busy := false
		for i, n := range nodes {
			if n.HasReady() {
				busy = true
				if err := env.ProcessReady(ids[i]); err != nil {
					return err
				}
			}
		}
		for _, id := range ids {
			if !env.hasMessagesFor(id) {
				continue
			}
			busy = true
			env.out.printf("> %d receiving messages", id)
			var err error
			env.out.nest(func() { _, err = env.DeliverMsgs(msgFilter{to: id}) })
			if err != nil {
				return err
			}
		}
		for i, n := range nodes {
			if len(n.AppendWork) > 0 {
				busy = true
				if err := env.ProcessAppendThread(ids[i], -1); err != nil {
					return err
				}
			}
			if len(n.ApplyWork) > 0 {
				busy = true
				if err := env.ProcessApplyThread(ids[i], -1); err != nil {
					return err
				}
			}
		}
		if !busy {
			return nil
		}
	}
	return fmt.Errorf("nodes %v still busy after %d rounds", ids, maxStabilizeRounds)
}

func (env *InteractionEnv) hasMessagesFor(id uint64) bool {
	for _, m := range env.Messages {
		if m.To == id {
			return true
		}
	}
	return false
}
