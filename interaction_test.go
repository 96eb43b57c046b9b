package raft_test

import (
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/quorate/raft"
	"github.com/quorate/raft/rafttest"
)

// TestInteraction runs every scenario in testdata/ through a fresh
// rafttest.InteractionEnv per file. The files are the readable
// specification of the library's behaviour; see the rafttest package
// documentation for the command language. Run with -rewrite to regenerate
// the expected output, then review the diff.
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		env := rafttest.NewInteractionEnv(&rafttest.Options{
			SetRandomizedElectionTimeout: raft.SetRandomizedElectionTimeoutForTest,
		})
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return env.Handle(t, d)
		})
	})
}
