package main

import "testing"

// TestRun runs the demo: election, replication, a partitioned leader, the
// heal, and the check that every replica ends with the same data.
func TestRun(t *testing.T) {
	if err := run(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
