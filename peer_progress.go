package raft

import (
	"math"

	"github.com/quorate/raft/tracker"
)

// flowState is how the leader sends appends to a member (thesis 3.5). Its
// values are those of tracker.StateType, in a byte.
type flowState uint8

const (
	// flowProbe: one append at a time, until the member's answer shows
	// where its log matches ours.
	flowProbe = flowState(tracker.StateProbe)
	// flowReplicate: appends are pipelined, up to the window's limits.
	flowReplicate = flowState(tracker.StateReplicate)
	// flowSnapshot: a snapshot is on its way; nothing else is sent.
	flowSnapshot = flowState(tracker.StateSnapshot)
)

// String returns the name tracker.StateType gives the state.
func (s flowState) String() string { return tracker.StateType(s).String() }

// windowLimits are the bounds of the appends in flight to one member
// (Config.MaxInflightMsgs and MaxInflightBytes; no byte bound when 0).
type windowLimits struct {
	count int
	bytes uint64
}

// peerProgress is a member and what the leader knows of its log: the
// compact form of tracker.Progress that replication keeps, one value per
// member in one array. A tracker.Progress is built from it only where the
// API hands one out (progress).
//
// Invariants:
//   - match < next.
//   - extra.pendingSnapshot > 0 only in flowSnapshot.
//   - extra.window holds appends only in flowReplicate. extra is nil
//     until a snapshot is sent or an append is pipelined, and is dropped
//     again once it holds neither (dropIdleWindow), so an idle follower
//     holds none at all.
//   - due and evenIfEmpty are never set for the leader itself;
//     evenIfEmpty only with due.
type peerProgress struct {
	id uint64
	// match is the highest index known to be in the member's log as in
	// ours.
	match uint64
	// next is the index of the next entry to send it.
	next uint64
	// sentCommit is the highest commit index sent to it. NB: it may
	// exceed what the member holds; the member commits only what matches.
	sentCommit uint64
	// extra is what flow control needs only for a member that is sent a
	// snapshot or pipelined appends (see peerExtra), or nil.
	extra *peerExtra

	state flowState
	// voter is set for a voter of a configuration that is not joint.
	voter bool
	// learner is set for a learner.
	learner bool
	// active is set when the member was heard from since the last
	// CheckQuorum round (RecentActive).
	active bool
	// paused is set when no append may go out until the member answers
	// (MsgAppFlowPaused): in flowProbe one is outstanding, in flowReplicate
	// the window is full.
	paused bool
	// due is set when the member is owed an append at the next Ready.
	due bool
	// evenIfEmpty is set, with due, when the member must get a message
	// even if there is nothing new to put in it: after a heartbeat response
	// showed that it lags while replicating, the appends in flight to it
	// may all have been lost, and only another one finds out.
	evenIfEmpty bool
}

// peerExtra is the part of a member's progress that an idle member does
// without.
type peerExtra struct {
	// window records the appends pipelined to the member that it has not
	// acknowledged, in flowReplicate; nil until the first one.
	window *tracker.Inflights
	// pendingSnapshot is the index of the snapshot sent to it in
	// flowSnapshot.
	pendingSnapshot uint64
}

// more returns p.extra, made on first use.
func (p *peerProgress) more() *peerExtra {
	if p.extra == nil {
		p.extra = &peerExtra{}
	}
	return p.extra
}

// window returns the appends in flight to the member, or nil if none was
// ever recorded (a nil Inflights answers as an empty one).
func (p *peerProgress) window() *tracker.Inflights {
	if p.extra == nil {
		return nil
	}
	return p.extra.window
}

// pendingSnapshot returns the index of the snapshot sent to the member in
// flowSnapshot, or 0.
func (p *peerProgress) pendingSnapshot() uint64 {
	if p.extra == nil {
		return 0
	}
	return p.extra.pendingSnapshot
}

// forgetSnapshot forgets the snapshot sent to the member: it was not
// delivered.
func (p *peerProgress) forgetSnapshot() {
	if p.extra != nil {
		p.extra.pendingSnapshot = 0
	}
}

// progressFrom returns the compact form of pr, for member id. Only what a
// configuration change sets in a Progress is read: the IDs it adds come
// with a fresh one.
func progressFrom(id uint64, pr *tracker.Progress) peerProgress {
	p := peerProgress{id: id, match: pr.Match, next: pr.Next, state: flowState(pr.State),
		learner: pr.IsLearner, active: pr.RecentActive, paused: pr.MsgAppFlowPaused}
	if pr.PendingSnapshot > 0 {
		p.more().pendingSnapshot = pr.PendingSnapshot
	}
	if pr.Inflights.Count() > 0 {
		p.more().window = pr.Inflights.Clone()
	}
	return p
}

// fillProgress sets *pr to p's progress as the API shows it, without a
// window. NB: field by field into the caller's variable rather than from a
// composite literal, which the compiler builds in a temporary and copies:
// a whole-struct copy made right after its fields are written waits for
// those writes, and WithProgress, which hands each progress on at once,
// ran about twice as fast this way (BenchmarkStatus in bench/).
func (p *peerProgress) fillProgress(pr *tracker.Progress) {
	*pr = tracker.Progress{}
	pr.Match, pr.Next, pr.State = p.match, p.next, tracker.StateType(p.state)
	pr.PendingSnapshot, pr.RecentActive, pr.MsgAppFlowPaused = p.pendingSnapshot(), p.active, p.paused
	pr.IsLearner = p.learner
	pr.SentCommit(p.sentCommit)
}

// progress returns the member's progress as the API shows it, with an
// Inflights of the given limits when withWindow is set (a copy: it shares
// nothing with p), without one otherwise.
func (p *peerProgress) progress(withWindow bool, lim windowLimits) tracker.Progress {
	var pr tracker.Progress
	p.fillProgress(&pr)
	switch {
	case !withWindow:
	case p.window() != nil:
		pr.Inflights = p.window().Clone()
	default:
		pr.Inflights = tracker.NewInflights(lim.count, lim.bytes)
	}
	return pr
}

// resetState enters state s with nothing outstanding: no pause, no
// pending snapshot, an empty window (whose array is kept for reuse).
func (p *peerProgress) resetState(s flowState) {
	p.state, p.paused = s, false
	if p.extra != nil {
		p.extra.pendingSnapshot = 0
		p.extra.window.FreeLE(math.MaxUint64)
	}
}

// becomeProbe goes back to probing from just past what the member is
// known to hold, or past the snapshot it was sent if that is further.
func (p *peerProgress) becomeProbe() {
	next := p.match + 1
	if p.state == flowSnapshot {
		next = max(next, p.pendingSnapshot()+1)
	}
	p.resetState(flowProbe)
	p.resendFrom(next)
}

// becomeReplicate starts pipelining appends right after match.
func (p *peerProgress) becomeReplicate() {
	p.resetState(flowReplicate)
	p.next = p.match + 1
}

// becomeSnapshot records that the snapshot at index is on its way: the
// member will hold the log up to index, commit included, once it applies
// it.
func (p *peerProgress) becomeSnapshot(index uint64) {
	p.resetState(flowSnapshot)
	p.more().pendingSnapshot = index
	p.next, p.sentCommit = index+1, index
}

// resendFrom makes next the next index to send; a commit index beyond
// what will precede it must be sent again.
func (p *peerProgress) resendFrom(next uint64) {
	p.next = next
	p.sentCommit = min(p.sentCommit, next-1)
}

// sentEntries accounts for an append of n entries (bytes of payload) that
// went out to the member: in flowProbe a non-empty one pauses it until it
// answers; in flowReplicate it takes room in the window, which pauses it
// once full. It panics in flowSnapshot, where nothing is sent.
// NB: the pipelined case, the common one, is kept free of the others'
// calls, so that its frame is small and it needs no spills (some 20
// instructions per append less).
func (p *peerProgress) sentEntries(n int, bytes uint64, lim windowLimits) {
	if p.state != flowReplicate {
		p.sentUnpipelined(n, bytes)
		return
	}
	w := p.window()
	if n > 0 {
		if w == nil {
			w = p.openWindow(lim)
		}
		last := p.next + uint64(n) - 1
		w.Add(last, bytes)
		p.next = last + 1
	}
	p.paused = w.Full()
}

// sentUnpipelined is sentEntries outside flowReplicate.
func (p *peerProgress) sentUnpipelined(n int, bytes uint64) {
	if p.state != flowProbe {
		invariantBroken("appends of %d entries (%d bytes) went out in state %s: %s", n, bytes, p.state, p)
	}
	p.paused = p.paused || n > 0
}

// openWindow gives the member an empty window of limits lim, in
// flowReplicate, and returns it.
func (p *peerProgress) openWindow(lim windowLimits) *tracker.Inflights {
	x := p.more()
	x.window = tracker.NewInflights(lim.count, lim.bytes)
	return x.window
}

// canBumpCommit reports whether the member has not been sent commit index
// commit although it may use it: it was sent entries past the commit index
// it knows.
func (p *peerProgress) canBumpCommit(commit uint64) bool {
	return commit > p.sentCommit && p.sentCommit < p.next-1
}

// windowFull reports whether the window leaves no room for another append.
// NB: window() spelt out, which keeps owesAppend, which asks this, within
// the compiler's inlining budget (84 against 80 through window()).
func (p *peerProgress) windowFull() bool {
	return p.state == flowReplicate && p.extra != nil && p.extra.window.Full()
}

// isPaused reports whether no append may go out to the member now.
func (p *peerProgress) isPaused() bool {
	return p.state == flowSnapshot || p.paused
}

// maybeUpdate takes an acknowledgement of index and reports whether it
// raised match. NB: next moves past index even when match does not: an
// acknowledgement may overtake the appends it follows.
func (p *peerProgress) maybeUpdate(index uint64) bool {
	p.next = max(p.next, index+1)
	if index <= p.match {
		return false
	}
	p.match, p.paused = index, false
	return true
}

// maybeDecrTo takes the rejection of the append that followed index
// rejected, with the member's hint that its log matches ours at most up
// to hint, and reports whether next moved back. A rejection that does not
// answer the latest append (it is stale) changes nothing: in flowReplicate
// one of an index at or below match, otherwise one of another index than
// the last probed.
func (p *peerProgress) maybeDecrTo(rejected, hint uint64) bool {
	var next uint64
	if p.state == flowReplicate {
		if rejected <= p.match {
			return false
		}
		next = p.match + 1
	} else {
		if rejected != p.next-1 {
			return false
		}
		next = max(min(rejected, hint+1), p.match+1)
	}
	p.resendFrom(next)
	if p.state != flowReplicate {
		// The probe was answered: another may go.
		p.paused = false
	}
	return true
}

// dropIdleWindow lets go of extra once it holds neither a pending
// snapshot nor appends in flight, so that an idle member costs no memory
// for it. Called at heartbeats: a busy member keeps its window between
// appends.
func (p *peerProgress) dropIdleWindow() {
	if p.extra != nil && p.extra.pendingSnapshot == 0 && p.extra.window.Count() == 0 {
		p.extra = nil
	}
}

// String describes the progress as tracker.Progress.String does, by
// building one: String serves log messages only.
func (p *peerProgress) String() string {
	pr := p.progress(false, windowLimits{})
	// NB: not a copy: String only reads it.
	pr.Inflights = p.window()
	return pr.String()
}
