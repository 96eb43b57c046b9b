package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleTickElection parses
//
//	tick-election <id>...
//
// and ticks each named node ElectionTick times: long enough for a leader
// to run its check-quorum round and for a follower's lease on its leader
// to expire, but a follower campaigns only if its randomized timeout (see
// set-randomized-election-timeout) is no longer than ElectionTick.
func handleTickElection(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	for _, id := range nodeIDs(env, t, d) {
		n, err := env.node(id)
		if err != nil {
			return err
		}
		env.Tick(n, n.Config.ElectionTick)
	}
	return nil
}

// handleTickHeartbeat parses
//
//	tick-heartbeat <id>...
//
// and ticks each named node HeartbeatTick times, which makes a leader
// send a round of heartbeats.
func handleTickHeartbeat(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	for _, id := range nodeIDs(env, t, d) {
		n, err := env.node(id)
		if err != nil {
			return err
		}
		env.Tick(n, n.Config.HeartbeatTick)
	}
	return nil
}

// Tick calls RawNode.Tick on n count times.
func (env *InteractionEnv) Tick(n *Node, count int) {
	for range count {
		n.RawNode.Tick()
	}
}
