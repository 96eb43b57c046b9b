package raft

import (
	"math/bits"
	"math/rand/v2"
)

// This file holds the two components that place a peer in time: termState,
// the term it is in and what it knows of that term, and electionTimer, the
// clock that makes a follower or candidate act when it hears nothing.

// termState is the peer's place in the sequence of terms (paper 5.1): the
// current term, the vote it cast in that term, and the leader it knows of.
// term and vote are persistent state (paper figure 2) and reach stable
// storage through the HardState of a Ready; lead is volatile.
//
// Invariant: terms never decrease. vote == None or the vote was cast in
// term. lead == None or lead won term (possibly this peer).
type termState struct {
	term uint64
	vote uint64
	lead uint64
}

// enterTerm moves the peer to term t, which must not be older than the
// current one. A new term starts with no vote and no known leader; staying
// in the same term keeps the vote and forgets the leader only.
func (s *termState) enterTerm(t uint64) {
	switch {
	case t < s.term:
		invariantBroken("term would go back from %d to %d", s.term, t)
	case t > s.term:
		s.term, s.vote = t, None
	}
	s.lead = None
}

// electionTimer is the clock of a follower or candidate (paper 5.2). It
// counts the ticks since the peer last heard from its leader, granted a
// vote or started a campaign, and expires after a timeout drawn at random
// from [base, 2*base) each time it restarts, so that peers rarely time out
// together. base is Config.ElectionTick, which the caller passes (it is in
// the peer's settings; a copy here would cost every peer a word).
//
// Invariant: base <= timeout < 2*base once the peer has a role, unless a
// test set timeout.
type electionTimer struct {
	// elapsed is the number of ticks since the timer last restarted or the
	// peer last heard from its leader.
	elapsed int
	// timeout is the number of ticks after which the timer expires.
	timeout int
	// rng draws the timeouts (and read request identifiers, see
	// read_forward.go) from Config.RandomSource when one is set. It is the
	// peer's only source of randomness. Without a source it is nil and the
	// draws come from seq instead, a SplitMix64 sequence seeded at random,
	// which costs a peer no allocation.
	rng *rand.Rand
	seq uint64
}

// newElectionTimer returns a timer drawing from src (see
// Config.RandomSource), or from a sequence seeded at random if src is nil.
// It draws its first timeout when the peer takes its first role.
func newElectionTimer(src rand.Source) electionTimer {
	if src == nil {
		return electionTimer{seq: rand.Uint64()}
	}
	return electionTimer{rng: rand.New(src)}
}

// draw returns the next 64 random bits.
func (t *electionTimer) draw() uint64 {
	if t.rng != nil {
		return t.rng.Uint64()
	}
	// SplitMix64 (Steele, Lea and Flood, 2014).
	t.seq += 0x9e3779b97f4a7c15
	z := t.seq
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// drawBelow returns a random number in [0, n), n > 0.
func (t *electionTimer) drawBelow(n int) int {
	if t.rng != nil {
		return t.rng.IntN(n)
	}
	// The high half of a 64x64-bit product scales the draw to [0, n).
	hi, _ := bits.Mul64(t.draw(), uint64(n))
	return int(hi)
}

// restart zeroes the clock and draws a new timeout from [base, 2*base).
func (t *electionTimer) restart(base int) {
	t.elapsed = 0
	t.timeout = base + t.drawBelow(base)
}

// heard zeroes the clock without drawing a new timeout: the peer heard
// from its leader, or granted a vote.
func (t *electionTimer) heard() {
	t.elapsed = 0
}

// advance counts one tick and reports whether the timer has expired.
func (t *electionTimer) advance() bool {
	t.elapsed++
	return t.elapsed >= t.timeout
}

// withinBase reports whether fewer than base ticks passed since the clock
// was zeroed: a peer that heard from its leader that recently trusts it to
// be alive (thesis 4.2.3 and 9.6).
func (t *electionTimer) withinBase(base int) bool {
	return t.elapsed < base
}
