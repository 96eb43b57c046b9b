package rafttest

import (
	"slices"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleStatus parses
//
//	status <id>
//
// and prints, for a leader, its progress record of every member, one per
// line in ID order, e.g. "2: StateReplicate match=12 next=13". Other nodes
// keep no progress and print nothing.
func handleStatus(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	return env.Status(exactlyOneNodeID(t, d))
}

// Status prints the progress map of node id.
func (env *InteractionEnv) Status(id uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	st := n.RawNode.Status()
	ids := make([]uint64, 0, len(st.Progress))
	for id := range st.Progress {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		pr := st.Progress[id]
		env.out.printf("%d: %s", id, pr.String())
	}
	return nil
}
