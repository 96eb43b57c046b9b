package raft

import (
	"errors"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// RawNode is a raft peer driven directly by the application: a thin shell
// over the state machine, without goroutines or channels. It is not safe for
// concurrent use. The application ticks it, steps messages and requests into
// it, and collects the resulting work with Ready (see Ready for what to do
// with it).
type RawNode struct {
	// raft is the state machine; its settings say whether storage writes
	// are asynchronous (Config.AsyncStorageWrites).
	raft *raft

	// prevSoftSt and prevHardSt are the states handed out last, so that a
	// Ready carries them only when they change.
	prevSoftSt SoftState
	prevHardSt pb.HardState

	// acks are what Advance steps back in (without AsyncStorageWrites).
	acks advanceAcks

	// propBuf carries the entry of a Propose or ReadIndex call into Step
	// without allocating; made on the first such call (see entryBuf), since
	// many peers never make one. Invariant: zero outside of those calls.
	propBuf *[1]pb.Entry
}

// entryBuf returns propBuf holding one entry with data, made on first use.
// The caller zeroes it once Step returned.
func (rn *RawNode) entryBuf(data []byte) []pb.Entry {
	if rn.propBuf == nil {
		rn.propBuf = new([1]pb.Entry)
	}
	rn.propBuf[0] = pb.Entry{Data: data}
	return rn.propBuf[:]
}

// NewRawNode returns a peer configured by cfg, with the state found in
// cfg.Storage. It returns an error naming the offending field if cfg is
// invalid, or if the stored state is inconsistent with it. cfg is not
// modified.
//
// A peer whose storage is empty has no configuration; it waits to be
// contacted by a leader, or it can be bootstrapped (see Bootstrap).
func NewRawNode(cfg *Config) (*RawNode, error) {
	c, err := cfg.validatedConfig()
	if err != nil {
		return nil, err
	}
	r, err := newRaft(&c)
	if err != nil {
		return nil, err
	}
	rn := &RawNode{raft: r}
	rn.prevSoftSt = r.softState()
	rn.prevHardSt = r.hardState()
	return rn, nil
}

// Tick advances the peer's logical clock by one tick. Election and heartbeat
// timeouts are counted in ticks.
func (rn *RawNode) Tick() {
	rn.raft.tick()
}

// TickQuiesced advances the election clock without doing anything else: no
// heartbeats, no campaign. It lets an application that stops ticking idle
// groups ("quiescence") keep followers' clocks moving, so that they do not
// campaign immediately when ticking resumes; it must be used with care, as a
// quiesced leader sends no heartbeats.
func (rn *RawNode) TickQuiesced() {
	rn.raft.tickQuiesced()
}

// Campaign makes the peer start an election (a pre-vote first if PreVote is
// set). It does nothing if the peer is a leader, a learner, or may not
// campaign for now. NB: under ReadOnlyLeaseBased, a follower that heard from
// its leader within the election timeout has promised that leader not to
// help elect another, and the leader's lease-based reads count on it; an
// election it starts then may break the promise (with PreVote, only if a
// quorum no longer hears from the leader), so call it only once the leader
// is known gone.
func (rn *RawNode) Campaign() error {
	return rn.raft.Step(pb.Message{Type: pb.MsgHup})
}

// Propose proposes data to be appended to the log. The proposal may be lost
// even if no error is returned (e.g. on a leadership change); ErrProposalDropped
// says it was not accepted.
func (rn *RawNode) Propose(data []byte) error {
	err := rn.raft.Step(pb.Message{Type: pb.MsgProp, From: rn.raft.id, Entries: rn.entryBuf(data)})
	rn.propBuf[0] = pb.Entry{}
	return err
}

// ProposeConfChange proposes a configuration change (a pb.ConfChange or
// pb.ConfChangeV2). Like any proposal it may be lost; the application learns
// of it through CommittedEntries and must then call ApplyConfChange.
func (rn *RawNode) ProposeConfChange(cc pb.ConfChangeI) error {
	m, err := confChangeProposal(cc)
	if err != nil {
		return err
	}
	return rn.raft.Step(m)
}

// confChangeProposal encodes cc as a proposal message. A nil cc is the
// request to leave a joint configuration.
func confChangeProposal(cc pb.ConfChangeI) (pb.Message, error) {
	if cc != nil {
		if err := validConfChangeTransition(cc.AsV2()); err != nil {
			return pb.Message{}, errors.New("raft: " + err.Error())
		}
	}
	typ, data, err := pb.MarshalConfChange(cc)
	if err != nil {
		return pb.Message{}, err
	}
	return pb.Message{Type: pb.MsgProp, Entries: []pb.Entry{{Type: typ, Data: data}}}, nil
}

// ApplyConfChange applies a committed configuration change to the peer and
// returns the resulting configuration. It must be called for every
// configuration change in CommittedEntries, in order, once it is applied to
// the state machine.
//
// A change that cannot be applied to the active configuration (one that
// entered the log with DisableConfChangeValidation; with validation on, the
// leader tries each change on the configuration it will apply to before
// appending it) is logged and leaves the configuration unchanged; the
// returned ConfState is then the previous one.
// NB: v3.6 panics instead. Every peer applies the same log to the same
// configurations, so all of them skip such a change alike, and an
// application that takes its membership from the returned ConfState stays
// in agreement with raft rather than crash-looping on a committed entry.
//
// A change that takes this peer out of the voters (its removal, or its
// demotion to learner) reaches CommittedEntries only once the new
// configuration can go on without it: on a leader, once a quorum of the new
// configuration knows the change is committed; on another peer, once it
// follows a leader other than itself. Until then the peer holds it, and the
// entries after it, back. A host may thus stop a peer as soon as it applies
// its removal.
func (rn *RawNode) ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState {
	cs := rn.raft.applyConfChange(cc.AsV2())
	return &cs
}

// Step hands the peer a message received from the network, or a response of
// a local storage thread. It returns ErrStepLocalMsg for a message type raft
// only generates for itself, and ErrStepPeerNotFound for a response from a
// peer outside the configuration.
//
// Raft may keep the entries of a message it is handed (a follower logs a
// leader's MsgApp entries without copying them), so the caller must not
// modify m.Entries, nor the Data they point to, once Step returned nil.
// A leader also writes the term and index of a MsgProp's entries into
// m.Entries as it appends them: in a process that hands one peer's Ready
// messages to another without encoding them, a forwarded proposal in the
// follower's Ready is numbered by the leader's Step.
func (rn *RawNode) Step(m pb.Message) error {
	if IsLocalMsgTarget(m.From) {
		// NB: a storage thread's response may confirm part of what is out,
		// whose size must then be whole (see sizeApplying).
		rn.raft.log.sizeApplying(rn.acks.applied)
	} else if c := msgClass(m.Type); c != 0 {
		// From the network (or the application): no local type, and no
		// response from outside the configuration. NB: a type both local
		// and a response is refused as local.
		if c&classLocal != 0 {
			return ErrStepLocalMsg
		}
		if !rn.raft.conf.isMember(m.From) {
			return ErrStepPeerNotFound
		}
	}
	return rn.raft.step(&m)
}

// Ready returns the work accumulated since the last Ready and marks it as
// handed out. Without AsyncStorageWrites, the application must call Advance
// once it has done the work.
func (rn *RawNode) Ready() (rd Ready) {
	rn.readyToHandOut(&rd)
	rn.markHandedOut(&rd)
	return rd
}

// HasReady reports whether Ready would return something. It changes
// nothing: work deferred to the Ready is only looked at.
func (rn *RawNode) HasReady() bool {
	r := rn.raft
	if r.quiet {
		// Nothing happened since the last call found nothing.
		return false
	}
	if rn.lookForReady() {
		return true
	}
	r.quiet = true
	return false
}

// lookForReady is HasReady without its memory of a peer at rest.
func (rn *RawNode) lookForReady() bool {
	r := rn.raft
	if !r.out.isEmpty() || r.hasDeferred() || (r.fault != nil && !r.fault.reported) {
		return true
	}
	if ss := r.softState(); !ss.equal(&rn.prevSoftSt) {
		return true
	}
	if hs := r.hardState(); !IsEmptyHardState(hs) && !hardStatesEqual(hs, rn.prevHardSt) {
		return true
	}
	return r.log.hasNextUnstableSnapshot() || r.log.hasNextUnstableEnts() ||
		r.log.hasNextCommittedEnts(rn.applyUnstableEntries(), r.applyLimit())
}

// applyUnstableEntries reports whether committed entries may be handed out
// for application before they are known to be durable: yes without
// AsyncStorageWrites, where a Ready's entries are persisted before its
// committed entries are applied.
func (rn *RawNode) applyUnstableEntries() bool {
	return !rn.raft.cfg.asyncStorageWrites
}

// Status returns the peer's state, with the replication progress of every
// peer if it is the leader. It allocates; see BasicStatus.
func (rn *RawNode) Status() Status {
	return getStatus(rn.raft)
}

// BasicStatus returns the peer's state without the progress of its peers,
// without allocating.
func (rn *RawNode) BasicStatus() BasicStatus {
	return getBasicStatus(rn.raft)
}

// ProgressType tells voters from learners in WithProgress.
type ProgressType byte

const (
	// ProgressTypePeer is a voter.
	ProgressTypePeer ProgressType = iota
	// ProgressTypeLearner is a learner.
	ProgressTypeLearner
)

// WithProgress calls visitor for every member of the configuration, in ID
// order, with a copy of the leader's view of its progress (without
// Inflights), avoiding the allocations of Status. A peer that does not lead
// tracks no progress; it reports each member as a new leader would see it
// (probing from the end of its own log), allocating to do so.
func (rn *RawNode) WithProgress(visitor func(id uint64, typ ProgressType, pr tracker.Progress)) {
	r := rn.raft
	if r.leading != nil {
		r.leading.repl.forEach(func(p peerProgress) {
			var pr tracker.Progress
			p.fillProgress(&pr)
			visitor(p.id, progressTypeOf(&pr), pr)
		})
		return
	}
	// NB: each member as a new leader would first see it, probing from the
	// end of this peer's log, built one at a time rather than as a map.
	next := r.log.lastIndex() + 1
	r.conf.eachMember(func(id uint64, learner bool) {
		pr := tracker.Progress{Next: next, IsLearner: learner}
		if id == r.id {
			pr.Match = next - 1
		}
		visitor(id, progressTypeOf(&pr), pr)
	})
}

// progressTypeOf tells a learner's progress from a voter's.
func progressTypeOf(pr *tracker.Progress) ProgressType {
	if pr.IsLearner {
		return ProgressTypeLearner
	}
	return ProgressTypePeer
}

// ReportUnreachable tells the leader that the last message to peer id could
// not be delivered; it stops pipelining appends to it and probes instead.
func (rn *RawNode) ReportUnreachable(id uint64) {
	_ = rn.raft.Step(pb.Message{Type: pb.MsgUnreachable, From: id})
}

// ReportSnapshot tells the leader whether the snapshot it asked to send to
// peer id was delivered (SnapshotFinish) or not (SnapshotFailure).
func (rn *RawNode) ReportSnapshot(id uint64, status SnapshotStatus) {
	rej := status == SnapshotFailure
	_ = rn.raft.Step(pb.Message{Type: pb.MsgSnapStatus, From: id, Reject: rej})
}

// TransferLeader asks the leader to hand leadership over to transferee. On a
// follower the request is forwarded to the leader. Progress can be followed
// through BasicStatus.LeadTransferee.
func (rn *RawNode) TransferLeader(transferee uint64) {
	if transferee == None {
		rn.raft.cfg.logger.Warningf("%x ignoring leadership transfer to None", rn.raft.id)
		return
	}
	_ = rn.raft.Step(pb.Message{Type: pb.MsgTransferLeader, From: transferee})
}

// ForgetLeader makes a follower forget its leader and stay a leaderless
// follower in the current term, without campaigning. A follower that has
// heard from its leader recently refuses pre-votes (PreVote) and, under
// CheckQuorum, votes; forgetting the leader lets it grant them immediately.
// Use it when the application has reason to believe the leader is gone: a
// quorum of followers that forget the leader can elect another without
// waiting out an election timeout, while a single follower cannot depose a
// live leader. It hears from the leader again as usual. Leaders and candidates ignore it,
// and so does every peer under ReadOnlyLeaseBased, where electing a new
// leader behind the old leader's back would break its lease.
func (rn *RawNode) ForgetLeader() error {
	return rn.raft.Step(pb.Message{Type: pb.MsgForgetLeader})
}

// ReadIndex asks for the index a linearizable read may be served at (thesis
// 6.4). The answer comes as a ReadState carrying rctx in a later Ready, or
// not at all (e.g. if leadership changes); the application retries as it
// sees fit. rctx should identify the request uniquely. A retry with the same
// rctx supersedes the earlier attempts: the one answer it gets was confirmed
// after the retry was made, never by a confirmation of an earlier attempt.
func (rn *RawNode) ReadIndex(rctx []byte) {
	// NB: raft keeps rctx, never the entry (see readRequestOf and
	// forwardReadIndex).
	_ = rn.raft.Step(pb.Message{Type: pb.MsgReadIndex, Entries: rn.entryBuf(rctx)})
	rn.propBuf[0] = pb.Entry{}
}
