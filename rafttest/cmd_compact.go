package rafttest

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleCompact parses
//
//	compact <id> <index> [snapshot=<snapshot-index>]
//
// and has node id take a snapshot at snapshot-index (default index) and
// discard the log up to and including index, as an application does to
// bound its log. snapshot-index must be at least index and applied
// already. The remaining log is printed. A leader that later needs a
// discarded entry for a follower sends this snapshot instead.
//
// A snapshot ahead of the compaction point stands for an application that
// snapshots its state machine more often than it truncates its log.
func handleCompact(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	id, rest := singleNodeID(t, d)
	if len(rest) != 1 {
		t.Fatalf("%s: compact takes a node ID and the index to compact to, got %v", d.Pos, positional(d))
	}
	index, err := strconv.ParseUint(rest[0], 10, 64)
	if err != nil {
		t.Fatalf("%s: compact: %q is not an index", d.Pos, rest[0])
	}
	snapIndex := index
	d.MaybeScanArgs(t, "snapshot", &snapIndex)
	if err := env.Compact(id, index, snapIndex); err != nil {
		return err
	}
	return env.RaftLog(id)
}

// Compact creates a snapshot of node id at snapIndex, with the
// configuration in force there, and compacts the node's storage up to
// index unless it is compacted that far already.
func (env *InteractionEnv) Compact(id, index, snapIndex uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	if snapIndex < index {
		return fmt.Errorf("cannot compact node %d to index %d with an older snapshot at %d", id, index, snapIndex)
	}
	if snapIndex > n.applied {
		return fmt.Errorf("cannot snapshot node %d at index %d: only %d is applied", id, snapIndex, n.applied)
	}
	cs, err := n.confAt(snapIndex)
	if err != nil {
		return err
	}
	if _, err := n.Storage.CreateSnapshot(snapIndex, &cs, nil); err != nil {
		return err
	}
	first, err := n.Storage.FirstIndex()
	if err != nil || index < first {
		return err
	}
	return n.Storage.Compact(index)
}
