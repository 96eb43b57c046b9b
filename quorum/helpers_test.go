package quorum

import (
	"math"
	"slices"
)

// mapAckIndexer is the AckedIndexer used by the tests: a voter acked the
// index it maps to, and voters absent from the map acked nothing.
type mapAckIndexer map[uint64]Index

// AckedIndex implements AckedIndexer.
func (m mapAckIndexer) AckedIndex(id uint64) (Index, bool) {
	idx, ok := m[id]
	return idx, ok
}

// majorityOf builds a MajorityConfig from ids.
func majorityOf(ids ...uint64) MajorityConfig {
	c := MajorityConfig{}
	for _, id := range ids {
		c[id] = struct{}{}
	}
	return c
}

// naiveCommitted is the textbook definition of a majority's committed index:
// sort every voter's acked index (0 if unknown) in descending order and take
// the one at which a majority is first reached.
func naiveCommitted(c MajorityConfig, l AckedIndexer) Index {
	if len(c) == 0 {
		return math.MaxUint64
	}
	var acked []Index
	for id := range c {
		idx, _ := l.AckedIndex(id) // unknown voters report 0
		acked = append(acked, idx)
	}
	slices.Sort(acked)
	slices.Reverse(acked)
	return acked[len(c)/2]
}

// naiveJointCommitted searches, without relying on the halves' own results,
// for the largest candidate index that a majority of each non-empty half has
// acknowledged. The committed index is always 0, math.MaxUint64 or some acked
// index, so those are the only candidates to try.
func naiveJointCommitted(c JointConfig, l AckedIndexer) Index {
	candidates := []Index{0, math.MaxUint64}
	for id := range c.IDs() {
		if idx, ok := l.AckedIndex(id); ok {
			candidates = append(candidates, idx)
		}
	}
	best := Index(0)
	for _, cand := range candidates {
		if cand > best && naiveHasMajorityAt(c[0], l, cand) && naiveHasMajorityAt(c[1], l, cand) {
			best = cand
		}
	}
	return best
}

// naiveHasMajorityAt reports whether more than half of c acked at least idx;
// the empty configuration trivially has.
func naiveHasMajorityAt(c MajorityConfig, l AckedIndexer, idx Index) bool {
	if len(c) == 0 {
		return true
	}
	n := 0
	for id := range c {
		if acked, _ := l.AckedIndex(id); acked >= idx {
			n++
		}
	}
	return 2*n > len(c)
}

// naiveWins reports whether more than half of c voted yes once every voter
// that has not voted is counted as fill; the empty configuration wins.
func naiveWins(c MajorityConfig, votes map[uint64]bool, fill bool) bool {
	if len(c) == 0 {
		return true
	}
	yes := 0
	for id := range c {
		granted, ok := votes[id]
		if !ok {
			granted = fill
		}
		if granted {
			yes++
		}
	}
	return 2*yes > len(c)
}

// naiveVote decides an election from its extremes: it is won if every half
// wins even when all outstanding voters say no, lost if some half loses even
// when all outstanding voters say yes, and pending otherwise. A
// MajorityConfig is passed as a JointConfig with an empty outgoing half.
func naiveVote(c JointConfig, votes map[uint64]bool) VoteResult {
	switch {
	case naiveWins(c[0], votes, false) && naiveWins(c[1], votes, false):
		return VoteWon
	case !naiveWins(c[0], votes, true) || !naiveWins(c[1], votes, true):
		return VoteLost
	default:
		return VotePending
	}
}

// combineHalves is the joint voting rule spelled out as a table over the
// two halves' results.
func combineHalves(in, out VoteResult) VoteResult {
	if in == VoteLost || out == VoteLost {
		return VoteLost
	}
	if in == VoteWon && out == VoteWon {
		return VoteWon
	}
	return VotePending
}
