package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleProcessApplyThread parses
//
//	process-apply-thread <id>... [count=<n>]
//
// and runs the apply thread of each named node (see ProcessApplyThread).
func handleProcessApplyThread(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	count := -1
	d.MaybeScanArgs(t, "count", &count)
	for _, id := range nodeIDs(env, t, d) {
		if err := env.ProcessApplyThread(id, count); err != nil {
			return err
		}
	}
	return nil
}

// ProcessApplyThread plays the apply thread of a node with
// AsyncStorageWrites: it takes the first count queued MsgStorageApply
// messages (all of them when count < 0), applies the committed entries
// each carries and then queues its responses, the MsgStorageApplyResp
// that tells the node the entries are applied.
func (env *InteractionEnv) ProcessApplyThread(id uint64, count int) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	work := takeWork(&n.ApplyWork, count)
	env.out.printf("> %d processing apply thread", id)
	env.out.indent++
	defer func() { env.out.indent-- }()
	if len(work) == 0 {
		env.out.printf("<no work>")
		return nil
	}
	for _, m := range work {
		env.out.printf("Processing:")
		env.out.nest(func() { env.out.printf("%s", describeMessage(m)) })
		if err := n.apply(m.Entries); err != nil {
			return err
		}
		env.printResponses(m.Responses)
		env.send(m.Responses...)
	}
	return nil
}
