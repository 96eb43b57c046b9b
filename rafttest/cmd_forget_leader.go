package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleForgetLeader parses
//
//	forget-leader <id>
//
// and makes the follower forget its leader (RawNode.ForgetLeader), so
// that it grants votes (and pre-votes) at once instead of waiting for an
// election timeout without hearing from the leader.
func handleForgetLeader(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	return env.ForgetLeader(exactlyOneNodeID(t, d))
}

// ForgetLeader calls RawNode.ForgetLeader on node id.
func (env *InteractionEnv) ForgetLeader(id uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	return n.RawNode.ForgetLeader()
}
