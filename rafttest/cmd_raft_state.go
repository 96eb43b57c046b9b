package rafttest

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/quorate/raft"
)

// handleRaftState parses
//
//	raft-state
//
// and prints one line per node: its ID, role, membership as it sees it,
// term, leader and commit index, e.g.
// "1: StateLeader (Voter) Term:2 Lead:1 Commit:12", followed by
// " LeadTransferee:<id>" on a leader that is handing over leadership.
func handleRaftState(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	for i, n := range env.Nodes {
		st := n.Status()
		line := fmt.Sprintf("%d: %s (%s) Term:%d Lead:%d Commit:%d",
			i+1, st.RaftState, membership(st), st.Term, st.Lead, st.Commit)
		if st.LeadTransferee != raft.None {
			line += fmt.Sprintf(" LeadTransferee:%d", st.LeadTransferee)
		}
		env.out.printf("%s", line)
	}
	return nil
}

// membership says how the node counts in its own view of the
// configuration: as a Voter (of either half of a joint configuration), a
// Learner, or a Non-Voter when it is not a member at all.
func membership(st raft.Status) string {
	for _, half := range st.Config.Voters {
		if _, ok := half[st.ID]; ok {
			return "Voter"
		}
	}
	if _, ok := st.Config.Learners[st.ID]; ok {
		return "Learner"
	}
	if _, ok := st.Config.LearnersNext[st.ID]; ok {
		return "Learner"
	}
	return "Non-Voter"
}
