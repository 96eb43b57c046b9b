package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handlePropose parses
//
//	propose <id> <data>...
//
// and proposes each datum, in order, as a normal entry on node id.
// Proposing stops at the first error, which is printed.
func handlePropose(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	id, data := singleNodeID(t, d)
	if len(data) == 0 {
		t.Fatalf("%s: propose needs the data to propose after the node ID", d.Pos)
	}
	for _, datum := range data {
		if err := env.Propose(id, []byte(datum)); err != nil {
			return err
		}
	}
	return nil
}

// Propose calls RawNode.Propose on node id.
func (env *InteractionEnv) Propose(id uint64, data []byte) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	return n.RawNode.Propose(data)
}
