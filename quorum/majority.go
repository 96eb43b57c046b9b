package quorum

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// MajorityConfig is a set of voter IDs whose decisions need a strict
// majority (more than half) of its members. The zero value (nil) is the empty
// configuration, which agrees to everything: see CommittedIndex and
// VoteResult.
type MajorityConfig map[uint64]struct{}

// String returns the voter IDs in ascending order, space-separated and
// parenthesised, e.g. "(1 2 3)"; the empty configuration prints as "()".
func (c MajorityConfig) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range c.Slice() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(id, 10))
	}
	b.WriteByte(')')
	return b.String()
}

// Slice returns the voter IDs in ascending order in a newly allocated slice
// that the caller owns. It returns an empty (nil) slice for the empty
// configuration.
func (c MajorityConfig) Slice() []uint64 {
	if len(c) == 0 {
		return nil
	}
	ids := make([]uint64, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// quorumSize is the number of voters that make a strict majority of n.
func quorumSize(n int) int {
	return n/2 + 1
}

// maxStackVoters is the largest configuration for which CommittedIndex works
// on a stack buffer and therefore does not allocate.
const maxStackVoters = 16

// CommittedIndex returns the largest index that a majority of the voters
// have acknowledged according to l, i.e. the highest index i such that more
// than half of the voters report an acked index >= i. Voters for which l has
// no information count as having acknowledged 0.
//
// The empty configuration returns math.MaxUint64: it imposes no constraint,
// so that the committed index of a JointConfig with an empty half is decided
// by the other half alone.
//
// CommittedIndex calls l.AckedIndex exactly once per voter and, provided l
// does not allocate, allocates nothing for up to 16 voters.
func (c MajorityConfig) CommittedIndex(l AckedIndexer) Index {
	n := len(c)
	if n == 0 {
		return math.MaxUint64
	}
	var buf [maxStackVoters]uint64
	var acked []uint64
	if n <= len(buf) {
		acked = buf[:0]
	} else {
		acked = make([]uint64, 0, n)
	}
	for id := range c {
		if idx, ok := l.AckedIndex(id); ok {
			acked = append(acked, uint64(idx))
		}
	}
	// The n-len(acked) voters without an ack sit at index 0. If they alone
	// prevent a majority among the rest, only index 0 has a majority.
	q := quorumSize(n)
	if len(acked) < q {
		return 0
	}
	if len(acked) <= maxStackVoters {
		insertionSort(acked)
	} else {
		slices.Sort(acked)
	}
	// Invariant: acked is ascending, so the q voters at its tail all acked at
	// least acked[len(acked)-q], and no larger value is acked by q voters.
	return Index(acked[len(acked)-q])
}

// insertionSort sorts s in ascending order. It is meant for the short slices
// CommittedIndex keeps on the stack, where it beats general-purpose sorting
// and, unlike sort.Slice, never allocates.
func insertionSort(s []uint64) {
	for i := 1; i < len(s); i++ {
		v := s[i]
		j := i
		for ; j > 0 && s[j-1] > v; j-- {
			s[j] = s[j-1]
		}
		s[j] = v
	}
}

// VoteResult tallies votes (voter ID -> granted) against the configuration.
// Votes from IDs outside the configuration are ignored and voters absent
// from votes have not answered yet.
//
// The result is VoteWon once a majority voted yes, VoteLost once the yes
// votes plus the outstanding ones can no longer reach a majority, and
// VotePending otherwise (Raft paper, section 5.2). The empty configuration
// always returns VoteWon, so that a JointConfig with an empty half is decided
// by the other half alone.
func (c MajorityConfig) VoteResult(votes map[uint64]bool) VoteResult {
	if len(c) == 0 {
		return VoteWon
	}
	var yes, missing int
	for id := range c {
		granted, ok := votes[id]
		switch {
		case !ok:
			missing++
		case granted:
			yes++
		}
	}
	q := quorumSize(len(c))
	switch {
	case yes >= q:
		return VoteWon
	case yes+missing >= q:
		return VotePending
	default:
		return VoteLost
	}
}
