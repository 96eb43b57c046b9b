package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/quorate/raft"
)

// handleProcessReady parses
//
//	process-ready <id>...
//
// and has each named node handle its Ready, in the order given.
func handleProcessReady(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	for _, id := range nodeIDs(env, t, d) {
		if err := env.ProcessReady(id); err != nil {
			return err
		}
	}
	return nil
}

// ProcessReady takes the Ready of node id, prints it and handles it the
// way an application does.
//
// Without AsyncStorageWrites the node persists the snapshot, entries and
// HardState, applies the committed entries, queues the messages for
// delivery and calls Advance. With AsyncStorageWrites the Ready is only
// dispatched: MsgStorageAppend and MsgStorageApply go to the node's append
// and apply threads (see process-append-thread and process-apply-thread)
// and all other messages are queued for delivery; Advance is not called.
func (env *InteractionEnv) ProcessReady(id uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	env.out.printf("> %d handling Ready", id)
	env.out.indent++
	defer func() { env.out.indent-- }()
	if !n.HasReady() {
		env.out.printf("<no Ready>")
		return nil
	}
	rd := n.Ready()
	env.printReady(rd)
	if n.Config.AsyncStorageWrites {
		for _, m := range rd.Messages {
			switch m.To {
			case raft.LocalAppendThread:
				n.AppendWork = append(n.AppendWork, m)
			case raft.LocalApplyThread:
				n.ApplyWork = append(n.ApplyWork, m)
			default:
				env.send(m)
			}
		}
		return nil
	}
	if err := n.persist(rd.HardState, rd.Entries, &rd.Snapshot); err != nil {
		return err
	}
	if err := n.apply(rd.CommittedEntries); err != nil {
		return err
	}
	env.send(rd.Messages...)
	n.Advance(rd)
	return nil
}
