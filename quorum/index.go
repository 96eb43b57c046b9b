package quorum

import (
	"math"
	"strconv"
)

// Index is a Raft log index as seen by quorum computations. The value
// math.MaxUint64 stands for "no limit": it is what an empty MajorityConfig
// reports as its committed index, so that it never constrains the other half
// of a JointConfig.
type Index uint64

// String returns the decimal form of i, or "∞" for math.MaxUint64.
func (i Index) String() string {
	if i == math.MaxUint64 {
		return "∞"
	}
	return strconv.FormatUint(uint64(i), 10)
}

// AckedIndexer reports, per voter, the highest log index that voter is known
// to have durably stored.
//
// AckedIndex returns found == false when nothing is known about the voter;
// quorum computations then treat the voter as having acknowledged index 0.
// Implementations used on the hot path should not allocate.
type AckedIndexer interface {
	AckedIndex(voterID uint64) (idx Index, found bool)
}
