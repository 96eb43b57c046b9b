package quorum

// JointConfig is the configuration in force during a joint-consensus
// membership change (Raft thesis, section 4.3): index 0 holds the incoming
// voters and index 1 the outgoing ones. Every decision needs a majority in
// each half independently. Outside of a membership change the outgoing half
// is empty, and the JointConfig then behaves exactly like its incoming half.
//
// A voter may belong to both halves; it then counts towards both majorities.
type JointConfig [2]MajorityConfig

// String returns "<incoming>&&<outgoing>", e.g. "(1 2 3)&&(1 2)", or only
// the incoming half, e.g. "(1 2 3)", when the outgoing half is empty.
func (c JointConfig) String() string {
	if len(c[1]) > 0 {
		return c[0].String() + "&&" + c[1].String()
	}
	return c[0].String()
}

// IDs returns a newly allocated set holding every voter of either half.
func (c JointConfig) IDs() map[uint64]struct{} {
	ids := make(map[uint64]struct{}, len(c[0])+len(c[1]))
	for _, half := range c {
		for id := range half {
			ids[id] = struct{}{}
		}
	}
	return ids
}

// CommittedIndex returns the largest index acknowledged by a majority of
// both halves, i.e. the smaller of the two halves' committed indexes. An
// empty half does not constrain the result; when both halves are empty the
// result is math.MaxUint64. See MajorityConfig.CommittedIndex for how l is
// used.
func (c JointConfig) CommittedIndex(l AckedIndexer) Index {
	return min(c[0].CommittedIndex(l), c[1].CommittedIndex(l))
}

// VoteResult tallies votes against both halves: the election is won when
// both halves are won, lost as soon as either half is lost, and pending
// otherwise. An empty half counts as won, see MajorityConfig.VoteResult.
func (c JointConfig) VoteResult(votes map[uint64]bool) VoteResult {
	in := c[0].VoteResult(votes)
	out := c[1].VoteResult(votes)
	switch {
	case in == out:
		return in
	case in == VoteLost || out == VoteLost:
		return VoteLost
	default:
		// One half is won and the other pending.
		return VotePending
	}
}
