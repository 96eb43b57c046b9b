package raft

import (
	"math"
	"slices"

	"github.com/quorate/raft/quorum"
)

// voterSet is one majority configuration (thesis 4.3): peer IDs in
// increasing order, without repeats. It answers what quorum.MajorityConfig
// answers, with the same results, from a slice rather than a map: a peer
// keeps its configuration in a few dozen bytes instead of a map's couple
// of hundred, and walks it faster.
type voterSet []uint64

// has reports whether id is in s.
func (s voterSet) has(id uint64) bool {
	for _, v := range s {
		if v >= id {
			return v == id
		}
	}
	return false
}

// committedIndex returns the highest index that a majority of s has
// acknowledged according to l (quorum.MajorityConfig.CommittedIndex): the
// largest index for an empty set, so that it does not constrain a joint
// configuration, and 0 when fewer than a majority acknowledged anything.
func (s voterSet) committedIndex(l quorum.AckedIndexer) uint64 {
	n := len(s)
	if n == 0 {
		return math.MaxUint64
	}
	var buf [maxFastQuorum]uint64
	acked := buf[:0]
	for _, id := range s {
		if idx, ok := l.AckedIndex(id); ok {
			acked = append(acked, uint64(idx))
		}
	}
	return majorityIndex(acked, n)
}

// majorityIndex returns the highest index that a majority of n voters
// acknowledged, given in acked the indexes of those that acknowledged
// anything (sorted in place): the lowest among the highest n/2+1, or 0
// when fewer than n/2+1 acknowledged.
func majorityIndex(acked []uint64, n int) uint64 {
	q := n/2 + 1
	if len(acked) < q {
		return 0
	}
	if len(acked) <= 8 {
		// NB: an insertion sort in place: for the handful of voters of
		// most groups it beats the general sort's call and set-up.
		for i := 1; i < len(acked); i++ {
			for j := i; j > 0 && acked[j] < acked[j-1]; j-- {
				acked[j], acked[j-1] = acked[j-1], acked[j]
			}
		}
	} else {
		slices.Sort(acked)
	}
	return acked[len(acked)-q]
}

// voteResult tallies votes among s (quorum.MajorityConfig.VoteResult): an
// empty set wins any vote.
func (s voterSet) voteResult(votes map[uint64]bool) quorum.VoteResult {
	if len(s) == 0 {
		return quorum.VoteWon
	}
	var yes, missing int
	for _, id := range s {
		switch granted, ok := votes[id]; {
		case !ok:
			missing++
		case granted:
			yes++
		}
	}
	switch q := len(s)/2 + 1; {
	case yes >= q:
		return quorum.VoteWon
	case yes+missing >= q:
		return quorum.VotePending
	}
	return quorum.VoteLost
}

// jointVoters are the voters of a configuration: the incoming ones and,
// while the configuration is joint, the outgoing ones (empty otherwise). A
// decision needs a majority of each (quorum.JointConfig).
type jointVoters [2]voterSet

// CommittedIndex returns the highest index both halves have a majority
// acknowledging, as quorum.JointConfig.CommittedIndex does.
func (j jointVoters) CommittedIndex(l quorum.AckedIndexer) quorum.Index {
	return quorum.Index(min(j[0].committedIndex(l), j[1].committedIndex(l)))
}

// VoteResult tallies votes in both halves, as
// quorum.JointConfig.VoteResult does: won when both are won, lost when
// either is lost.
func (j jointVoters) VoteResult(votes map[uint64]bool) quorum.VoteResult {
	in, out := j[0].voteResult(votes), j[1].voteResult(votes)
	switch {
	case in == out:
		return in
	case in == quorum.VoteLost || out == quorum.VoteLost:
		return quorum.VoteLost
	}
	return quorum.VotePending
}

// has reports whether id votes in either half.
func (j jointVoters) has(id uint64) bool { return j[0].has(id) || j[1].has(id) }

// appendIDs appends to ids the voters of either half, each once, in
// increasing order.
func (j jointVoters) appendIDs(ids []uint64) []uint64 {
	n := len(ids)
	ids = append(ids, j[0]...)
	for _, id := range j[1] {
		if !j[0].has(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids[n:])
	return ids
}
