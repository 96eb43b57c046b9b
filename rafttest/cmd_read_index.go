package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleReadIndex parses
//
//	read-index <id> <request-context>
//
// and asks node id for a read index under the given request context; the
// answer comes out as a ReadState in a later Ready.
func handleReadIndex(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	id, rest := singleNodeID(t, d)
	if len(rest) != 1 {
		t.Fatalf("%s: read-index takes a node ID and one request context, got %v", d.Pos, positional(d))
	}
	return env.ReadIndex(id, []byte(rest[0]))
}

// ReadIndex calls RawNode.ReadIndex on node id.
func (env *InteractionEnv) ReadIndex(id uint64, rctx []byte) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	n.RawNode.ReadIndex(rctx)
	return nil
}
