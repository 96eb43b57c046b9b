package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleTransferLeadership parses
//
//	transfer-leadership from=<id> to=<id>
//
// and asks node from to hand its leadership to node to
// (RawNode.TransferLeader). Only a leader acts on it: it first brings to
// up to date, then tells it to campaign at once with MsgTimeoutNow.
func handleTransferLeadership(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	var from, to uint64
	d.ScanArgs(t, "from", &from)
	d.ScanArgs(t, "to", &to)
	return env.TransferLeadership(from, to)
}

// TransferLeadership calls RawNode.TransferLeader(to) on node from.
func (env *InteractionEnv) TransferLeadership(from, to uint64) error {
	n, err := env.node(from)
	if err != nil {
		return err
	}
	n.RawNode.TransferLeader(to)
	return nil
}
