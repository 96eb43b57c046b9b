package tracker

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Progress is what the leader knows about one follower's log, and how it is
// currently sending entries to it (see StateType). The leader keeps one
// Progress per voter and learner, its own included.
//
// Progress is a state machine driven by the leader: BecomeProbe,
// BecomeReplicate and BecomeSnapshot switch the state, SentEntries and
// SentCommit record what was sent, and MaybeUpdate and MaybeDecrTo apply the
// follower's replies (Raft thesis 3.5: the leader finds the point where the
// logs agree by moving nextIndex back, then replicates from there).
type Progress struct {
	// Match is the highest index known to be replicated on the follower, and
	// Next is the index of the next entry to send to it.
	//
	// Invariant: 0 <= Match < Next. All methods keep it, provided that
	// BecomeSnapshot is given an index >= Match.
	//
	// In StateProbe, Next-1 is the index being probed and Next does not move
	// when entries are sent. In StateReplicate, Next-1 is the last index sent,
	// so entries in [Match+1, Next-1] are in flight. In StateSnapshot,
	// BecomeSnapshot sets Next-1 to PendingSnapshot; the follower's replies
	// may still move Next (MaybeUpdate raises it, MaybeDecrTo lowers it)
	// before the state is left.
	Match, Next uint64

	// sentCommit is the highest commit index the leader has sent to the
	// follower (SentCommit), used to avoid resending a commit index the
	// follower already has (CanBumpCommit).
	//
	// NB: sentCommit is not bounded by Next. A message may carry a commit
	// index beyond its own last entry; the follower then commits only up to
	// its last matching entry, so anything >= Next-1 means "the follower has
	// been told all it can use". Whenever Next moves backwards (BecomeProbe,
	// MaybeDecrTo) the appends past Next-1 may have been dropped along with
	// their commit index, so sentCommit is lowered to at most Next-1;
	// BecomeSnapshot sets it to exactly Next-1, the snapshot's index.
	//
	// Invariant: sentCommit <= Next-1 right after BecomeProbe, BecomeSnapshot
	// and a MaybeDecrTo that returned true.
	sentCommit uint64

	// State is how the leader currently sends entries to the follower.
	State StateType

	// PendingSnapshot is the index of the snapshot being sent to the
	// follower in StateSnapshot. When the state is left through BecomeProbe,
	// the snapshot is assumed delivered and probing resumes after it; a
	// caller that knows the snapshot failed must zero PendingSnapshot first.
	//
	// Invariant: PendingSnapshot == 0 unless State == StateSnapshot.
	PendingSnapshot uint64

	// RecentActive is true if the follower has been heard from recently. The
	// leader sets it on every message from the follower and clears it at each
	// check-quorum round, and steps down if a quorum was not active (thesis
	// 6.2). The zero value is false.
	RecentActive bool

	// MsgAppFlowPaused is set when sending to the follower must stop: in
	// StateProbe after an append was sent and until its reply (or the next
	// heartbeat), in StateReplicate while Inflights is Full. It is cleared by
	// state changes, by a MaybeUpdate that returns true and by a successful
	// MaybeDecrTo outside StateReplicate (in StateReplicate the caller is
	// expected to switch to StateProbe, which clears it). Use IsPaused for
	// the decision, which also accounts for StateSnapshot.
	MsgAppFlowPaused bool

	// Inflights is the window of append messages sent and not yet
	// acknowledged. It is only used in StateReplicate: every state change
	// empties it.
	//
	// Invariant: Inflights.Count() == 0 unless State == StateReplicate.
	Inflights *Inflights

	// IsLearner is true if the follower is a learner: it receives the log
	// but does not vote and does not count towards commit quorums (thesis
	// 4.2.1, catching up new servers).
	IsLearner bool
}

// ResetState switches to state s and forgets the per-state bookkeeping:
// MsgAppFlowPaused and PendingSnapshot are cleared and the Inflights window is
// emptied. Match, Next and sentCommit are left alone; the Become* methods
// adjust them.
func (pr *Progress) ResetState(s StateType) {
	pr.MsgAppFlowPaused = false
	pr.PendingSnapshot = 0
	pr.State = s
	pr.Inflights.reset()
}

// BecomeProbe switches to StateProbe and probes from the entry after the
// last one known to be on the follower: Match+1, or, when leaving
// StateSnapshot, PendingSnapshot+1 if that is higher (the pending snapshot is
// assumed to have been applied; callers zero PendingSnapshot first if it
// failed). sentCommit is lowered to at most the new Next-1.
func (pr *Progress) BecomeProbe() {
	next := pr.Match + 1
	if pr.State == StateSnapshot {
		next = max(next, pr.PendingSnapshot+1)
	}
	pr.ResetState(StateProbe)
	pr.resendFrom(next)
}

// BecomeReplicate switches to StateReplicate and resumes sending from
// Match+1. The caller does so once Match is known to be the point where the
// logs agree.
func (pr *Progress) BecomeReplicate() {
	pr.ResetState(StateReplicate)
	pr.Next = pr.Match + 1
}

// BecomeSnapshot switches to StateSnapshot for sending the snapshot at index
// snapshoti: PendingSnapshot becomes snapshoti, Next becomes snapshoti+1, and
// sentCommit becomes snapshoti, since a snapshot only holds committed
// entries. snapshoti must be >= Match.
func (pr *Progress) BecomeSnapshot(snapshoti uint64) {
	pr.ResetState(StateSnapshot)
	pr.PendingSnapshot = snapshoti
	pr.Next = snapshoti + 1
	pr.sentCommit = snapshoti
}

// SentEntries records that an append message carrying the given number of
// entries, whose payloads total bytes, was sent from index Next.
//
// In StateReplicate, a non-empty message advances Next past its entries and
// takes a slot in Inflights; then, for empty messages too, MsgAppFlowPaused
// is set to whether the window is Full (so it clears once acknowledgements
// have freed the window). In StateProbe, Next does not move and a non-empty
// message pauses the flow until the follower replies; an empty one changes
// nothing.
//
// SentEntries panics in StateSnapshot: no appends may be sent while a
// snapshot is pending.
func (pr *Progress) SentEntries(entries int, bytes uint64) {
	switch pr.State {
	case StateProbe:
		// The probe's answer decides where the logs agree; until it comes
		// there is nothing more to send. An empty message (one that only
		// carries a commit index) asks no question, so it does not wait.
		pr.MsgAppFlowPaused = pr.MsgAppFlowPaused || entries > 0
	case StateReplicate:
		pr.pipeline(uint64(entries), bytes)
	default:
		panicf("tracker: sent %d entries (%d bytes) in state %s: %s", entries, bytes, pr.State, pr)
	}
}

// pipeline records, in StateReplicate, a message of n entries sent without
// waiting for the follower: its last index enters the Inflights window and
// Next moves past it. The flow pauses exactly while the window is Full.
func (pr *Progress) pipeline(n, bytes uint64) {
	if n != 0 {
		last := pr.Next + n - 1
		pr.Inflights.Add(last, bytes)
		pr.Next = last + 1
	}
	pr.MsgAppFlowPaused = pr.Inflights.Full()
}

// CanBumpCommit reports whether sending commit index index would tell the
// follower something new: index is above the commit index already sent, and
// that one is below Next-1, the highest index the follower has or is about to
// receive (a follower cannot commit entries it does not have).
func (pr *Progress) CanBumpCommit(index uint64) bool {
	return index > pr.sentCommit && pr.sentCommit < pr.Next-1
}

// SentCommit records that commit index commit was sent to the follower.
func (pr *Progress) SentCommit(commit uint64) {
	pr.sentCommit = commit
}

// MaybeUpdate applies the follower's acknowledgement that its log matches
// the leader's up to index n. It returns true if n is news, i.e. n > Match:
// Match becomes n and the flow is unpaused. Next is raised to at least n+1
// either way. It does not free Inflights; the caller does that.
func (pr *Progress) MaybeUpdate(n uint64) bool {
	pr.Next = max(pr.Next, n+1)
	if n <= pr.Match {
		return false
	}
	pr.Match = n
	pr.MsgAppFlowPaused = false
	return true
}

// MaybeDecrTo applies the follower's rejection of the append message whose
// previous entry was at index rejected. matchHint is an index at or below
// which the logs may agree, derived from the hint in the follower's rejection;
// it lets the leader jump Next back past a whole conflicting stretch instead
// of one index per round trip (Raft paper 5.3, the optimization of rejecting
// with the conflicting term).
//
// It returns false, changing nothing, if the rejection is stale: in
// StateReplicate, rejected <= Match (those entries are known to match); in the
// other states, rejected != Next-1 (only one probe is outstanding at a time,
// so any other rejection answers an older probe).
//
// Otherwise it returns true after moving Next back: in StateReplicate to
// Match+1 (the caller is expected to switch to StateProbe); in the other
// states to max(min(rejected, matchHint+1), Match+1), unpausing the flow so
// the next probe can go out. sentCommit is lowered to at most Next-1.
func (pr *Progress) MaybeDecrTo(rejected, matchHint uint64) bool {
	next, ok := pr.nextAfterRejection(rejected, matchHint)
	if !ok {
		return false
	}
	pr.resendFrom(next)
	// NB: in StateReplicate the pause is left alone: the caller switches to
	// StateProbe next, and that clears it.
	if pr.State != StateReplicate {
		pr.MsgAppFlowPaused = false
	}
	return true
}

// nextAfterRejection returns the index to resend from after the follower
// rejected the append whose previous entry was at index rejected, and false
// if that rejection is stale and changes nothing (see MaybeDecrTo).
func (pr *Progress) nextAfterRejection(rejected, matchHint uint64) (uint64, bool) {
	if pr.State == StateReplicate {
		// Appends were pipelined past Match, and any of them may be the one
		// that failed; Match+1 is the only index known to follow a matching
		// entry. A rejection at or below Match answers an append older than
		// the acknowledgement that set Match.
		return pr.Match + 1, rejected > pr.Match
	}
	// Probing, a single append is outstanding: the one sent from Next.
	if rejected != pr.Next-1 {
		return 0, false
	}
	// The entry at rejected does not match, so Next must go below it; the
	// hint allows skipping further back, but never to or below Match, which
	// is known to match.
	return max(min(rejected, matchHint+1), pr.Match+1), true
}

// resendFrom moves Next to next, the first index to send again. Messages
// sent past it may have been lost along with the commit index they carried,
// so the commit index counted as sent is lowered to at most next-1.
func (pr *Progress) resendFrom(next uint64) {
	pr.Next = next
	pr.sentCommit = min(pr.sentCommit, next-1)
}

// IsPaused reports whether the leader must hold off sending appends to the
// follower: in StateProbe and StateReplicate it is MsgAppFlowPaused; in
// StateSnapshot it is always true. It panics on an unknown state.
//
// Heartbeats are not affected and keep flowing.
func (pr *Progress) IsPaused() bool {
	if pr.State > StateSnapshot {
		panicf("tracker: unknown progress state %s: match=%d next=%d", pr.State, pr.Match, pr.Next)
	}
	return pr.paused()
}

// paused is IsPaused without the check of State, so that String can describe
// any Progress, including a corrupt one in a panic message.
func (pr *Progress) paused() bool {
	return pr.State == StateSnapshot || pr.MsgAppFlowPaused
}

// String returns a one-line summary of the progress:
//
//	<State> match=<Match> next=<Next>[ learner][ paused][ pendingSnap=<PendingSnapshot>][ inactive][ inflight=<Count>[full]]
//
// where " learner" appears if IsLearner, " paused" if IsPaused(),
// " pendingSnap=N" if PendingSnapshot > 0, " inactive" if !RecentActive, and
// " inflight=N" if N > 0 messages are in flight, followed by "[full]" if the
// window is Full. For example:
//
//	StateReplicate match=5 next=6 learner paused pendingSnap=7 inactive inflight=2[full]
func (pr *Progress) String() string {
	var b strings.Builder
	b.WriteString(pr.State.String())
	b.WriteString(" match=")
	b.WriteString(strconv.FormatUint(pr.Match, 10))
	b.WriteString(" next=")
	b.WriteString(strconv.FormatUint(pr.Next, 10))
	if pr.IsLearner {
		b.WriteString(" learner")
	}
	if pr.paused() {
		b.WriteString(" paused")
	}
	if pr.PendingSnapshot > 0 {
		b.WriteString(" pendingSnap=")
		b.WriteString(strconv.FormatUint(pr.PendingSnapshot, 10))
	}
	if !pr.RecentActive {
		b.WriteString(" inactive")
	}
	if n := pr.Inflights.Count(); n > 0 {
		b.WriteString(" inflight=")
		b.WriteString(strconv.Itoa(n))
		if pr.Inflights.Full() {
			b.WriteString("[full]")
		}
	}
	return b.String()
}

// ProgressMap is the Progress of every voter and learner, by node ID.
type ProgressMap map[uint64]*Progress

// String returns one line "<id>: <Progress.String()>\n" per entry, in
// ascending order of ID, e.g.
//
//	1: StateReplicate match=5 next=6
//	2: StateProbe match=0 next=1 inactive
func (m ProgressMap) String() string {
	var b strings.Builder
	for _, id := range m.appendSortedIDs(make([]uint64, 0, len(m))) {
		fmt.Fprintf(&b, "%d: %s\n", id, m[id])
	}
	return b.String()
}

// appendSortedIDs appends the IDs in m to ids in ascending order and returns
// the extended slice. Given a slice with room for them, it does not allocate.
func (m ProgressMap) appendSortedIDs(ids []uint64) []uint64 {
	start := len(ids)
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids[start:])
	return ids
}
