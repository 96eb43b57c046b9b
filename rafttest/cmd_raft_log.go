package rafttest

import (
	"math"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/quorate/raft"
)

// handleRaftLog parses
//
//	raft-log <id>
//
// and prints the entries in the node's stable storage, one per line. Only
// what the node has persisted is shown: entries still waiting in an
// unprocessed Ready or append thread are not.
func handleRaftLog(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	return env.RaftLog(exactlyOneNodeID(t, d))
}

// RaftLog prints the entries of node id's storage.
func (env *InteractionEnv) RaftLog(id uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	first, err := n.Storage.FirstIndex()
	if err != nil {
		return err
	}
	last, err := n.Storage.LastIndex()
	if err != nil {
		return err
	}
	if last < first {
		env.out.printf("storage holds no entries (first index %d, last index %d)", first, last)
		return nil
	}
	ents, err := n.Storage.Entries(first, last+1, math.MaxUint64)
	if err != nil {
		return err
	}
	for _, e := range ents {
		env.out.printf("%s", raft.DescribeEntry(e, formatData))
	}
	return nil
}
