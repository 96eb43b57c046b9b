package quorum

import "strconv"

// VoteResult is the state of an election tallied against a configuration.
// The zero value is not a valid result.
type VoteResult uint8

const (
	// VotePending means the outcome is still open: neither enough yes votes
	// to win nor enough no votes to rule out winning have been received.
	VotePending VoteResult = 1 + iota
	// VoteLost means enough voters rejected the candidate (or the candidate
	// can no longer gather a quorum of yes votes) that the election cannot
	// be won.
	VoteLost
	// VoteWon means a quorum voted yes.
	VoteWon
)

// String returns the name of the constant, e.g. "VoteWon", or
// "VoteResult(n)" for a value outside the defined set.
func (v VoteResult) String() string {
	switch v {
	case VotePending:
		return "VotePending"
	case VoteLost:
		return "VoteLost"
	case VoteWon:
		return "VoteWon"
	default:
		return "VoteResult(" + strconv.FormatUint(uint64(v), 10) + ")"
	}
}
