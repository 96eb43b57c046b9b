package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/quorate/raft"
)

// handleReportSnapshot parses
//
//	report-snapshot <id> <peer> [status=finish|failure]
//
// and tells node id how sending its snapshot to peer ended
// (RawNode.ReportSnapshot), as a transport does once a MsgSnap is through
// or has failed. The status defaults to finish. A leader whose progress
// for peer is in StateSnapshot moves it to StateProbe either way: after a
// success it probes from the snapshot index, after a failure it forgets
// the pending snapshot and probes until it finds what peer needs.
func handleReportSnapshot(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	id, rest := singleNodeID(t, d)
	if len(rest) != 1 {
		t.Fatalf("%s: report-snapshot takes the reporting node and the peer, got %v", d.Pos, positional(d))
	}
	status := raft.SnapshotFinish
	if arg, ok := d.Arg("status"); ok {
		switch arg.SingleVal(t) {
		case "finish":
		case "failure":
			status = raft.SnapshotFailure
		default:
			t.Fatalf("%s: report-snapshot: unknown status %q (want finish or failure)", d.Pos, arg.Vals[0])
		}
	}
	return env.ReportSnapshot(id, parseID(t, d, rest[0]), status)
}

// ReportSnapshot calls RawNode.ReportSnapshot on node id.
func (env *InteractionEnv) ReportSnapshot(id, peer uint64, status raft.SnapshotStatus) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	if _, err := env.node(peer); err != nil {
		return err
	}
	n.RawNode.ReportSnapshot(peer, status)
	return nil
}
