package raft

import "math/rand/v2"

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

// setRandomizedElectionTimeout fixes the ticks after which the election
// timer next expires, until it restarts.
func (r *raft) setRandomizedElectionTimeout(v int) { r.timer.timeout = v }

// seedRand reseeds the peer's randomness.
func (r *raft) seedRand(seed uint64) {
	r.timer.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// newLog returns a log over storage with no bound on the committed entries
// handed out at once.
func newLog(storage Storage, logger Logger) *raftLog {
	return newLogWithSize(storage, logger, noSizeLimit)
}

// newLogWithSize returns a log over storage handing out at most
// maxApplying bytes of committed entries not yet applied.
func newLogWithSize(storage Storage, logger Logger, maxApplying entryEncodingSize) *raftLog {
	l := openLog(storage, &settings{logger: logger, maxApplying: maxApplying})
	return &l
}
