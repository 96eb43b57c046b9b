//go:build !race

package raft

// raceEnabled: see race_on_test.go.
const raceEnabled = false
