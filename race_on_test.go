//go:build race

package raft

// raceEnabled is set when the tests run under the race detector, which
// makes sync.Pool drop items at random on purpose: allocation counts that
// rest on the message slabs' pool do not hold there.
const raceEnabled = true
