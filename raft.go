package raft

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"weak"

	pb "github.com/quorate/raft/raftpb"
)

// This file holds the raft struct, which composes the components of the
// state machine (see its doc), its construction from Storage, the role
// changes and the tick. The exported names here are fixed by the API.

// None is the placeholder node ID used when there is no leader or no vote.
const None uint64 = 0

// LocalAppendThread is the target of MsgStorageAppend messages and the sender
// of MsgStorageAppendResp when Config.AsyncStorageWrites is set.
const LocalAppendThread uint64 = ^uint64(0)

// LocalApplyThread is the target of MsgStorageApply messages and the sender of
// MsgStorageApplyResp when Config.AsyncStorageWrites is set.
const LocalApplyThread uint64 = ^uint64(0) - 1

// StateType is the role a peer plays: follower, (pre-)candidate or leader.
type StateType uint64

// The possible roles of a peer.
const (
	StateFollower StateType = iota
	StateCandidate
	StateLeader
	StatePreCandidate
	numStates
)

var stateNames = [numStates]string{
	"StateFollower",
	"StateCandidate",
	"StateLeader",
	"StatePreCandidate",
}

// String returns the constant's name, e.g. "StateLeader".
func (st StateType) String() string {
	if st < numStates {
		return stateNames[st]
	}
	return "StateType(" + strconv.FormatUint(uint64(st), 10) + ")"
}

// MarshalJSON encodes the state as its name in a JSON string.
func (st StateType) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(st.String())), nil
}

// CampaignType names the kind of election a peer runs.
type CampaignType string

const (
	// campaignPreElection is the first phase of an election under PreVote.
	campaignPreElection CampaignType = "CampaignPreElection"
	// campaignElection is a normal election (or the second PreVote phase).
	campaignElection CampaignType = "CampaignElection"
	// campaignTransfer is an election forced by a leadership transfer; its
	// vote requests carry this string as Context so that voters bypass
	// leader stickiness.
	campaignTransfer CampaignType = "CampaignTransfer"
)

// ErrProposalDropped is returned when a proposal is not accepted: there is no
// leader, a leadership transfer is under way, the uncommitted-size limit is
// reached, forwarding is disabled, or the leader is no longer a member. The
// application may retry.
var ErrProposalDropped = errors.New("raft proposal dropped")

// ErrStepLocalMsg is returned when a local message type (one that raft only
// generates for itself) is stepped in as if it had come from the network.
var ErrStepLocalMsg = errors.New("raft: cannot step raft local message")

// ErrStepPeerNotFound is returned when a response message is stepped in from a
// peer that is not part of the configuration.
var ErrStepPeerNotFound = errors.New("raft: cannot step as peer not found")

// settings are the parts of Config the state machine consults while it
// runs. They never change after construction: peers built from equal
// settings share one copy (see shareSettings), so nothing may write to
// them.
type settings struct {
	// logger is Config.Logger, for the peer and its log.
	logger Logger

	electionTimeout  int
	heartbeatTimeout int

	checkQuorum                 bool
	preVote                     bool
	readOnly                    ReadOnlyOption
	disableProposalForwarding   bool
	disableConfChangeValidation bool
	stepDownOnRemoval           bool
	asyncStorageWrites          bool
	reportRefusedConfChanges    bool
	reportDroppedReads          bool
	reportLostLog               bool

	maxMsgSize         entryEncodingSize
	maxUncommittedSize entryPayloadSize
	maxInflight        int
	maxInflightBytes   uint64
	// maxApplying is Config.MaxCommittedSizePerReady: the bytes of
	// committed entries handed out and not yet applied (see applyTracker).
	maxApplying entryEncodingSize
}

// sharedSettings maps settings to the copy that peers built from them
// share, so that a process hosting many groups of one configuration keeps
// it once rather than once per peer (a few dozen bytes per idle group).
// An entry is dropped once no peer holds its copy.
var sharedSettings = struct {
	sync.Mutex
	copies map[settings]weak.Pointer[settings]
}{copies: map[settings]weak.Pointer[settings]{}}

// shareSettings returns a copy of s that peers built from equal settings
// share. Settings whose logger cannot be shared (see loggerShareable: its
// value cannot be compared - it holds a slice, a map or a func, possibly
// behind an interface field of a comparable type - or may lead back to the
// peers) get a copy of their own. NB: the value is checked, not the type: a struct
// with an interface field has a comparable type, yet hashing it panics when
// the field holds an incomparable value.
func shareSettings(s settings) *settings {
	if !loggerShareable(s.logger) {
		return &s
	}
	if s != s {
		// NB: a logger holding a NaN is unequal to itself: its entry could
		// never be found again, nor deleted.
		return &s
	}
	t := &sharedSettings
	t.Lock()
	defer t.Unlock()
	if c := t.copies[s].Value(); c != nil {
		return c
	}
	c := &s
	t.copies[s] = weak.Make(c)
	runtime.AddCleanup(c, forgetSettings, s)
	return c
}

// loggerShareable reports whether settings holding l may be shared: l can
// be compared, and cannot lead back to the peers. NB: the table's key and
// the cleanup that drops it hold l; a logger that reaches a peer (a
// per-group logger pointing at its group, say) would keep every peer built
// with it, and their shared copy, alive for good. So only the package's own
// loggers, the package-wide one (SetLogger's), and values without pointers
// qualify; other loggers cost their peers a copy each.
func loggerShareable(l Logger) bool {
	if l == nil {
		return true
	}
	v := reflect.ValueOf(l)
	if !v.Comparable() {
		return false
	}
	loggerMu.RLock()
	global := raftLogger
	loggerMu.RUnlock()
	switch l {
	case Logger(defaultLogger), Logger(discardLogger), global:
		return true
	}
	return !holdsPointers(v.Type())
}

// holdsPointers reports whether values of t may hold a pointer.
func holdsPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && holdsPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}

// forgetSettings drops the entry of s once the copy it names is gone. NB: a
// peer built from s after that copy died but before this ran made a new
// copy, whose entry stays.
func forgetSettings(s settings) {
	t := &sharedSettings
	t.Lock()
	defer t.Unlock()
	if t.copies[s].Value() == nil {
		delete(t.copies, s)
	}
}

// raft is the deterministic Raft state machine of one peer. Its inputs are
// Step (messages from peers, local requests, acknowledgements of the
// storage threads) and tick; its outputs wait in the outbox, the log and
// the read states until RawNode hands them out in a Ready.
//
// raft composes components that each own their state, and routes inputs to
// them through the step function of its role (step_*.go):
//
//	termState      term, vote and known leader           term.go
//	electionTimer  the follower's and candidate's clock  term.go
//	raftLog        the log, commit and apply indexes     log.go, log_unstable.go
//	membership     the active configuration              membership.go
//	outbox         what waits to be handed out           outbox.go
//	readForwarder  reads forwarded to the leader         read_forward.go
//	campaign       the votes of a (pre-)candidate        election.go
//	leaderState    all that only a leader has            leader.go, replication.go,
//	               (replication, read rounds, lease,     read_index.go, lease.go,
//	               transfer, departures)                 transfer.go, departure.go
//	peerAside      what a peer has now and then: its     raft.go, exit.go,
//	               own exit from the voters, held        read_forward.go
//	               (exitHold), and the reads it
//	               forwarded (readForwarder)
//	faultState     a lost log, reported                  fault.go
//
// RawNode keeps what it handed out last and what Advance owes (advance.go),
// and builds Readies (ready_build.go).
type raft struct {
	id uint64
	// cfg is shared with the other peers of the process built from equal
	// settings (see shareSettings).
	cfg *settings

	// state is the peer's role.
	state StateType
	termState
	timer electionTimer

	log  raftLog
	conf membership
	out  outbox

	// camp is the election under way. Invariant: non-nil exactly when
	// state is StateCandidate or StatePreCandidate.
	camp *campaign
	// leading is the leader's state. Invariant: non-nil exactly when state
	// is StateLeader.
	leading *leaderState
	// fault is set once the peer stopped taking part (fault.go), and nil
	// until then.
	fault *faultState
	// aside is what a peer needs only now and then (see peerAside), or
	// nil.
	aside *peerAside
	// restartGuard is set from the start of a peer with
	// Config.LeaseGuardOnRestart until its first role change: it may have
	// promised a leader, before a crash, not to vote for another for an
	// election timeout, and keeps that promise as if it had just heard from
	// it (see leaderLease).
	restartGuard bool
	// quiet is set by a HasReady that found nothing and by a Ready that
	// left nothing behind (markHandedOut), and cleared by every input that
	// may have given the peer work to hand out (stir): steps, ticks that
	// acted, role and configuration changes, and the acknowledgements of
	// Advance that can (see stirsOnAdvance). While it is set, HasReady
	// repeats none of its checks.
	quiet bool
	// commitTold is set while the peer follows a leader whose last append
	// or heartbeat carried a commit index at least as high as its own: its
	// committed entries are then known committed to that leader, which
	// tells a departing peer so only once the new configuration can go on
	// without it (see exitHold). Cleared by every role change: a peer that
	// learned a commit while leading, or before a restart, must hear it
	// again.
	commitTold bool
}

// peerAside is what a peer has only now and then, behind one pointer
// (raft.aside) made on first use, so that the many peers that never need it
// pay one word for all of it.
type peerAside struct {
	// fwd holds the read requests a follower forwarded to its leader.
	fwd readForwarder
	// exit is this peer's own exit from the voters, committed and held back
	// from the application (exit.go), or nil. releasedExit is the index of
	// the last exit let go.
	exit         *exitHold
	releasedExit uint64
	// commitCap, while this peer leads, is the index of the first
	// configuration change after its own exit, which it has not applied: it
	// commits nothing from there on until it has (see capCommit). 0 when
	// there is none.
	commitCap uint64
}

// moreAside returns r.aside, made on first use.
func (r *raft) moreAside() *peerAside {
	if r.aside == nil {
		r.aside = &peerAside{}
	}
	return r.aside
}

// heldExit returns the peer's own exit held back from the application, or
// nil (exit.go).
func (r *raft) heldExit() *exitHold {
	if a := r.aside; a != nil {
		return a.exit
	}
	return nil
}

// stir records an input that may have given the peer work to hand out.
func (r *raft) stir() { r.quiet = false }

// newRaft builds a peer from a validated configuration and the state found
// in its Storage.
func newRaft(cfg *Config) (*raft, error) {
	// NB: the log reads these too, and treats a failure as a broken
	// invariant; a storage that cannot answer at startup is the caller's to
	// hear about.
	if _, err := cfg.Storage.FirstIndex(); err != nil {
		return nil, fmt.Errorf("raft: reading the first index from storage: %w", err)
	}
	if _, err := cfg.Storage.LastIndex(); err != nil {
		return nil, fmt.Errorf("raft: reading the last index from storage: %w", err)
	}
	hs, cs, err := cfg.Storage.InitialState()
	if err != nil {
		return nil, fmt.Errorf("raft: reading initial state from storage: %w", err)
	}
	r := &raft{
		id:    cfg.ID,
		cfg:   shareSettings(settingsOf(cfg)),
		timer: newElectionTimer(cfg.RandomSource),
	}
	r.log = openLog(cfg.Storage, r.cfg)
	r.out.async, r.out.shelf = cfg.AsyncStorageWrites, takeMsgShelf()
	if err := r.restoreConfState(cs); err != nil {
		return nil, err
	}
	if err := r.recover(hs, cfg.Applied); err != nil {
		return nil, err
	}
	r.becomeFollower(r.term, None)
	r.restartGuard = cfg.LeaseGuardOnRestart
	last := r.log.lastEntryID()
	r.cfg.logger.Infof("%x starts: voters %v, term %d, commit %d, applied %d, last entry %v",
		r.id, r.conf.voters().appendIDs(nil), r.term, r.log.committed(), r.log.applied(), last)
	return r, nil
}

// settingsOf extracts the settings from a validated configuration.
func settingsOf(c *Config) settings {
	return settings{
		logger:                      c.Logger,
		electionTimeout:             c.ElectionTick,
		heartbeatTimeout:            c.HeartbeatTick,
		checkQuorum:                 c.CheckQuorum,
		preVote:                     c.PreVote,
		readOnly:                    c.ReadOnlyOption,
		disableProposalForwarding:   c.DisableProposalForwarding,
		disableConfChangeValidation: c.DisableConfChangeValidation,
		stepDownOnRemoval:           c.StepDownOnRemoval,
		asyncStorageWrites:          c.AsyncStorageWrites,
		reportRefusedConfChanges:    c.ReportRefusedConfChanges,
		reportDroppedReads:          c.ReportDroppedReads,
		reportLostLog:               c.ReportLostLog,
		maxMsgSize:                  entryEncodingSize(c.MaxSizePerMsg),
		maxUncommittedSize:          entryPayloadSize(c.MaxUncommittedEntriesSize),
		maxInflight:                 c.MaxInflightMsgs,
		maxInflightBytes:            c.MaxInflightBytes,
		maxApplying:                 entryEncodingSize(c.MaxCommittedSizePerReady),
	}
}

// recover installs the HardState read from Storage and Config.Applied,
// after checking that they fit the stored log.
func (r *raft) recover(hs pb.HardState, applied uint64) error {
	if !IsEmptyHardState(hs) {
		lo, hi := r.log.committed(), r.log.lastIndex()
		if hs.Commit < lo || hs.Commit > hi {
			return fmt.Errorf("raft: stored HardState commit %d is outside the stored log [%d, %d]", hs.Commit, lo, hi)
		}
		r.termState = termState{term: hs.Term, vote: hs.Vote}
		r.log.commitTo(hs.Commit)
	}
	if applied == 0 {
		return nil
	}
	if lo, hi := r.log.applied(), r.log.committed(); applied < lo || applied > hi {
		return fmt.Errorf("raft: Config.Applied %d is outside [%d, %d] (storage snapshot index, stored commit index)",
			applied, lo, hi)
	}
	r.log.appliedTo(applied, 0)
	return nil
}

func (r *raft) softState() SoftState { return SoftState{Lead: r.lead, RaftState: r.state} }

func (r *raft) hardState() pb.HardState {
	return pb.HardState{Term: r.term, Vote: r.vote, Commit: r.log.committed()}
}

// changeRole is what every role change has in common: the peer enters the
// given term (the same or a later one), its election clock restarts, and
// whatever belonged to the role it leaves is dropped.
func (r *raft) changeRole(s StateType, term uint64) {
	r.dropOutstandingReads()
	r.enterTerm(term)
	r.state = s
	r.stir()
	r.timer.restart(r.cfg.electionTimeout)
	r.camp = nil
	r.leading = nil
	r.out.sizeForBroadcast(1)
	if a := r.aside; a != nil {
		a.fwd = readForwarder{}
		a.commitCap = 0
	}
	r.restartGuard = false
	r.commitTold = false
	// NB: the exit stays held across role changes; only a leader's marker
	// means something.
	if h := r.heldExit(); h != nil {
		h.marker = 0
	}
}

func (r *raft) becomeFollower(term, lead uint64) {
	r.changeRole(StateFollower, term)
	r.lead = lead
	r.cfg.logger.Infof("%x is a follower in term %d", r.id, r.term)
}

func (r *raft) becomeCandidate() {
	if r.state == StateLeader {
		invariantBroken("%x cannot campaign while leading term %d", r.id, r.term)
	}
	r.changeRole(StateCandidate, r.term+1)
	r.vote = r.id
	r.camp = newCampaign(false)
	r.cfg.logger.Infof("%x is a candidate in term %d", r.id, r.term)
}

// becomePreCandidate starts the first phase of a PreVote election (thesis
// 9.6). NB: unlike the other role changes it keeps the term, the vote and
// the election clock: a pre-candidate has not left its term yet, and the
// forwarded reads of that term may still be answered.
func (r *raft) becomePreCandidate() {
	if r.state == StateLeader {
		invariantBroken("%x cannot pre-campaign while leading term %d", r.id, r.term)
	}
	r.state = StatePreCandidate
	r.lead = None
	r.camp = newCampaign(true)
	r.cfg.logger.Infof("%x is a pre-candidate in term %d", r.id, r.term)
}

func (r *raft) becomeLeader() {
	if r.state == StateFollower {
		invariantBroken("%x cannot lead term %d without campaigning", r.id, r.term)
	}
	r.changeRole(StateLeader, r.term)
	r.lead = r.id
	r.leading = newLeaderState(r)
	// Paper 5.4.2: a leader only commits entries of its own term by counting
	// replicas, so it appends one right away. Its payload is empty, so the
	// uncommitted-size limit cannot refuse it.
	if !r.appendOwn([]pb.Entry{{}}) {
		invariantBroken("%x: the empty entry of a new leader of term %d was refused", r.id, r.term)
	}
	if h := r.heldExit(); h != nil {
		// Appended after the held exit was known committed: it is the
		// marker (see exitHold).
		h.marker = r.log.lastIndex()
	}
	r.noteInheritedDepartures()
	r.cfg.logger.Infof("%x is the leader of term %d", r.id, r.term)
}

// tick advances the peer's clocks by one tick. A leader's tick before its
// wake-up tick only counts.
func (r *raft) tick() {
	if l := r.leading; l != nil {
		// NB: a peer that faulted never leads (see faultState).
		if !l.idleTick() {
			r.tickLeader()
		}
		return
	}
	if r.fault != nil {
		return
	}
	r.log.unstable.releaseIdle()
	if r.timer.advance() && r.promotable() {
		r.stir()
		// NB: zeroed before campaigning, so that a refused campaign (say,
		// a configuration change still to apply) is retried only after a
		// full timeout.
		r.timer.heard()
		if err := r.Step(pb.Message{From: r.id, Type: pb.MsgHup}); err != nil {
			r.cfg.logger.Debugf("%x could not campaign: %v", r.id, err)
		}
	}
}

// tickQuiesced advances the clocks without acting on them (see
// RawNode.TickQuiesced).
func (r *raft) tickQuiesced() {
	if r.leading != nil {
		// NB: the lease clock too: the followers' promises run out with
		// their quiesced ticks (found by review).
		r.leading.quiescedTick()
		return
	}
	r.timer.elapsed++
}
