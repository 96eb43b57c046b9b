package rafttest

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleCompact parses
//
//	compact <id> <index>
//
// and has node id take a snapshot at index and discard the log up to and
// including it, as an application does to bound its log. index must be
// applied already. The remaining log is printed. A leader that later
// needs a discarded entry for a follower sends this snapshot instead.
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
	if err := env.Compact(id, index); err != nil {
		return err
	}
	return env.RaftLog(id)
}

// Compact creates a snapshot of node id at index, with the configuration
// in force there, and compacts the node's storage up to it.
func (env *InteractionEnv) Compact(id, index uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	if index > n.applied {
		return fmt.Errorf("cannot compact node %d to index %d: only %d is applied", id, index, n.applied)
	}
	cs, err := n.confAt(index)
	if err != nil {
		return err
	}
	if _, err := n.Storage.CreateSnapshot(index, &cs, nil); err != nil {
		return err
	}
	return n.Storage.Compact(index)
}
