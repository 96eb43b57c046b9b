package raftpb

import (
	"fmt"
	"slices"
)

// Equivalent returns nil when cs and cs2 describe the same configuration: each
// of Voters, Learners, VotersOutgoing and LearnersNext holds the same IDs in
// both (in any order; a nil and an empty slice are the same; an ID listed
// twice counts twice), and AutoLeave is equal. Otherwise it returns an error
// that prints both states.
//
// Equivalent does not modify the slices of either argument.
func (cs ConfState) Equivalent(cs2 ConfState) error {
	if sameIDs(cs.Voters, cs2.Voters) &&
		sameIDs(cs.Learners, cs2.Learners) &&
		sameIDs(cs.VotersOutgoing, cs2.VotersOutgoing) &&
		sameIDs(cs.LearnersNext, cs2.LearnersNext) &&
		cs.AutoLeave == cs2.AutoLeave {
		return nil
	}
	return fmt.Errorf("raftpb: conf states are not equivalent:\n  %s\n  %s", describeConfState(cs), describeConfState(cs2))
}

// sameIDs reports whether a and b hold the same multiset of IDs. It sorts
// copies, leaving a and b untouched.
func sameIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	if slices.Equal(a, b) {
		return true
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(sa, sb)
}

// describeConfState formats cs for error messages, with every field named.
func describeConfState(cs ConfState) string {
	return fmt.Sprintf("voters=%v learners=%v voters_outgoing=%v learners_next=%v auto_leave=%t",
		cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext, cs.AutoLeave)
}
