package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// handleLogLevel parses
//
//	log-level <debug|info|warn|error|fatal|none>
//
// and sets the lowest level of the node log lines that commands print
// from now on. The initial level is info.
func handleLogLevel(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	args := positional(d)
	if len(args) != 1 {
		t.Fatalf("%s: log-level takes one level, got %v", d.Pos, args)
	}
	level, err := parseLogLevel(args[0])
	if err != nil {
		t.Fatalf("%s: %v", d.Pos, err)
	}
	env.out.level = level
	return nil
}
