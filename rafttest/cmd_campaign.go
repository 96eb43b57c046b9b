package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleCampaign parses
//
//	campaign <id>
//
// and makes the node start an election at once, as if its election timer
// had fired (a pre-vote first if the node has PreVote).
func handleCampaign(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	return env.Campaign(exactlyOneNodeID(t, d))
}

// Campaign calls RawNode.Campaign on node id.
func (env *InteractionEnv) Campaign(id uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	return n.Campaign()
}
