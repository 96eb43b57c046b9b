package tracker

import "strconv"

// StateType is the replication state of a follower as seen by the leader; it
// decides how the leader sends log entries to that follower (Raft thesis
// 4.2.1 describes the probing and pipelined phases).
type StateType uint64

const (
	// StateProbe: the leader does not know where the follower's log diverges
	// from its own. It sends at most one append message per heartbeat
	// interval and waits for the reply before sending the next, moving Next
	// backwards on each rejection until the logs match.
	StateProbe StateType = iota
	// StateReplicate: the logs are known to match up to Match. The leader
	// streams entries optimistically, advancing Next as it sends, within the
	// limits of the Inflights window.
	StateReplicate
	// StateSnapshot: the follower needs entries the leader has compacted
	// away, so a snapshot is being sent instead and no appends are sent until
	// it is reported applied or failed.
	StateSnapshot
)

// String returns "StateProbe", "StateReplicate" or "StateSnapshot", and
// "StateType(N)" for a value outside these.
func (st StateType) String() string {
	switch st {
	case StateProbe:
		return "StateProbe"
	case StateReplicate:
		return "StateReplicate"
	case StateSnapshot:
		return "StateSnapshot"
	default:
		return "StateType(" + strconv.FormatUint(uint64(st), 10) + ")"
	}
}
