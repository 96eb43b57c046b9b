package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleReportUnreachable parses
//
//	report-unreachable <id> <peer>
//
// and tells node id that the last message to peer could not be delivered,
// which sends a replicating leader's progress for peer back to probing.
func handleReportUnreachable(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	id, rest := singleNodeID(t, d)
	if len(rest) != 1 {
		t.Fatalf("%s: report-unreachable takes the reporting node and the unreachable peer, got %v", d.Pos, positional(d))
	}
	return env.ReportUnreachable(id, parseID(t, d, rest[0]))
}

// ReportUnreachable calls RawNode.ReportUnreachable on node id.
func (env *InteractionEnv) ReportUnreachable(id, peer uint64) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	n.RawNode.ReportUnreachable(peer)
	return nil
}
