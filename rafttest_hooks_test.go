package raft

// This file hands unexported knobs of the core to the tests of package
// raft_test (interaction_test.go), which pass them on to rafttest through
// rafttest.Options. Being a _test.go file, none of it is part of the
// public API.

// SetRandomizedElectionTimeoutForTest fixes the ticks after which the
// election timer of rn next fires, until it is drawn again at the next term
// or role change.
var SetRandomizedElectionTimeoutForTest = func(rn *RawNode, timeout int) {
	rn.raft.setRandomizedElectionTimeout(timeout)
}
