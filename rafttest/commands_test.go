package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestCommands runs the scenarios in rafttest/testdata, which check
// commands and options of the language that the repository's scenario
// suite does not use. Run with -rewrite to regenerate them.
func TestCommands(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		env := NewInteractionEnv(nil)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return env.Handle(t, d)
		})
	})
}
