// Package quorum is the arithmetic of agreement in Raft: given who the voters
// are and what each of them has told the leader, it answers "which log index
// has a quorum acknowledged?" and "has this election been decided?".
//
// The package knows nothing about terms, messages or progress tracking; it
// works purely on voter IDs, acknowledged indexes and votes, which keeps every
// rule small enough to be tested exhaustively against naive definitions.
//
// Two kinds of configuration exist:
//
//   - MajorityConfig is a plain set of voters. A decision needs a strict
//     majority of them (Raft paper, section 5.2 for elections and 5.3 for
//     commitment).
//   - JointConfig pairs an incoming and an outgoing MajorityConfig during a
//     membership change. A decision needs a majority of each half separately
//     (joint consensus, Raft thesis section 4.3). When the outgoing half is
//     empty, a JointConfig behaves exactly like its incoming half.
//
// NB: CommittedIndex only says which index a quorum has stored. The caller
// must still check that the entry at that index belongs to the leader's
// current term before treating it as committed (Raft paper, section 5.4.2).
package quorum
