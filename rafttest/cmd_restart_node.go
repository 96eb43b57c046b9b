package rafttest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/quorate/raft"
)

// handleRestartNode parses
//
//	restart-node <id> [applied=<index>]
//
// and restarts node id as after a crash (see RestartNode).
func handleRestartNode(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	id := exactlyOneNodeID(t, d)
	var applied uint64
	d.MaybeScanArgs(t, "applied", &applied)
	return env.RestartNode(id, applied)
}

// RestartNode replaces node id's RawNode with a new one built from the
// node's stable storage and its Config, with Config.Applied set to
// applied: the node loses everything it had not persisted, as a process
// that crashed and started again does. A Ready it had handed out and not
// handled, and with AsyncStorageWrites the work queued on its append and
// apply threads, are lost too. Messages already sent stay in flight, to
// and from the node.
//
// applied tells the new RawNode how far the application's state machine
// had got, so that it hands out only the committed entries after it. It
// must lie between the index of the storage's snapshot and the stored
// commit index; 0 stands for the snapshot index. NB: the storage keeps
// the configuration of its snapshot only, so a configuration change
// applied after that snapshot is re-applied only if applied is below it.
func (env *InteractionEnv) RestartNode(id, applied uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	cfg := *n.Config
	cfg.Applied = applied
	// NB: a restarted process draws afresh; reusing the first incarnation's
	// sequence would also reuse its read-request identifiers.
	n.incarnation++
	cfg.RandomSource = rand.NewPCG(id, id^0x9e3779b97f4a7c15+n.incarnation)
	rn, err := raft.NewRawNode(&cfg)
	if err != nil {
		return err
	}
	snap, err := n.Storage.Snapshot()
	if err != nil {
		return err
	}
	n.RawNode, n.Config = rn, &cfg
	n.AppendWork, n.ApplyWork = nil, nil
	n.applied = max(applied, snap.Metadata.Index)
	// The state machine keeps what it had applied, and with it the
	// configurations recorded up to there; later ones are forgotten.
	cs, err := n.confAt(n.applied)
	if err != nil {
		return fmt.Errorf("node %d: %w", id, err)
	}
	n.recordConf(n.applied, cs)
	return nil
}
