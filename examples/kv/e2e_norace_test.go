//go:build !race

package main

// raceEnabled tells the end-to-end tests to build the binary with the race
// detector too.
const raceEnabled = false
