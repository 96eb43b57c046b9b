package raft

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

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

// stepFunc is the role-specific part of message handling.
type stepFunc func(r *raft, m pb.Message) error

// raft is the deterministic Raft state machine of one peer: inputs are Step
// and tick, outputs are collected in msgs / msgsAfterAppend, the raft log and
// readStates for RawNode to hand out in a Ready.
type raft struct {
	id uint64

	// term and vote are the persistent state of paper figure 2.
	// Invariant: vote == None or vote was cast in term.
	term uint64
	vote uint64

	readStates []ReadState

	raftLog *raftLog

	maxMsgSize         entryEncodingSize
	maxUncommittedSize entryPayloadSize
	trk                tracker.ProgressTracker

	state StateType
	// isLearner is true when the local peer is a learner in the active
	// configuration. Learners never campaign.
	isLearner bool

	// msgs are messages that may be sent as soon as the Ready holding them is
	// handed out.
	msgs []pb.Message
	// msgsAfterAppend are messages that may only be sent once everything
	// appended to the unstable log and the HardState up to now is durable:
	// append acknowledgements and votes (paper 5.1: respond only after
	// updating stable storage). Messages to self are stepped back in once the
	// write is done.
	// Invariant: without asyncStorageWrites, only messages to self.
	msgsAfterAppend []pb.Message
	// asyncStorageWrites is Config.AsyncStorageWrites. Without it the
	// application persists a whole Ready before sending any of its messages,
	// so messages that wait for durability to other peers simply go with
	// the others, in the order they were produced.
	asyncStorageWrites bool

	// lead is the leader of term as far as this peer knows, or None.
	lead uint64
	// leadTransferee is the peer a leadership transfer is handing over to,
	// or None. Only set on a leader.
	leadTransferee uint64
	// pendingConfIndex is the log index of the latest configuration change
	// the leader may have appended; another is admitted only once the applied
	// index reaches it (thesis 4.1).
	pendingConfIndex uint64
	// disableConfChangeValidation turns off the check above.
	disableConfChangeValidation bool
	// uncommittedSize is an estimate of the payload bytes appended by this
	// leader and not yet applied. Invariant: 0 unless state == StateLeader.
	uncommittedSize entryPayloadSize

	readOnly *readOnly
	// readFwd holds the read requests this peer, as a follower, forwarded
	// to its leader and has not seen answered.
	readFwd readForwarder
	// nextReadRound is the id of the leader's next ReadIndex confirmation
	// round. It never decreases while the process lives, so a heartbeat
	// response can never be mistaken for one of a later round. NB: a
	// restarted peer starts again at 1, which is safe because it can only
	// lead again in a later term, and responses of earlier terms are
	// dropped.
	// Invariant: nextReadRound >= 1.
	nextReadRound uint64
	// pendingReadIndexMessages are ReadIndex requests received by a leader
	// that has not yet committed an entry of its term; they are served once
	// it has (thesis 6.4 step 1).
	pendingReadIndexMessages []pb.Message

	// electionElapsed counts ticks since the last election timeout reset:
	// for a follower, since it last heard from a valid leader or granted a
	// vote; for a leader, since the last CheckQuorum round.
	electionElapsed int
	// heartbeatElapsed counts ticks since the leader's last heartbeat.
	// Only used by leaders.
	heartbeatElapsed int

	checkQuorum bool
	preVote     bool

	heartbeatTimeout int
	electionTimeout  int
	// randomizedElectionTimeout is drawn from [electionTimeout,
	// 2*electionTimeout) whenever the peer changes term or role (paper 5.2).
	randomizedElectionTimeout int
	rand                      *rand.Rand

	disableProposalForwarding bool
	stepDownOnRemoval         bool

	// appendsPending is set when a leader may owe a follower a MsgApp: new
	// entries, a higher commit index, or an acknowledgement, rejection or
	// heartbeat response that moved a follower's progress. The sends happen
	// once per Ready in flushOutgoing, so that many proposals and responses
	// share one MsgApp per follower. Invariant: false unless state ==
	// StateLeader.
	appendsPending bool

	tick func()
	step stepFunc

	logger Logger
}

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
	raftlog := newLogWithSize(cfg.Storage, cfg.Logger, entryEncodingSize(cfg.MaxCommittedSizePerReady))
	r := &raft{
		id:                          cfg.ID,
		lead:                        None,
		raftLog:                     raftlog,
		maxMsgSize:                  entryEncodingSize(cfg.MaxSizePerMsg),
		maxUncommittedSize:          entryPayloadSize(cfg.MaxUncommittedEntriesSize),
		trk:                         tracker.MakeProgressTracker(cfg.MaxInflightMsgs, cfg.MaxInflightBytes),
		electionTimeout:             cfg.ElectionTick,
		heartbeatTimeout:            cfg.HeartbeatTick,
		logger:                      cfg.Logger,
		checkQuorum:                 cfg.CheckQuorum,
		preVote:                     cfg.PreVote,
		readOnly:                    newReadOnly(cfg.ReadOnlyOption, cfg.ID),
		nextReadRound:               1,
		disableProposalForwarding:   cfg.DisableProposalForwarding,
		disableConfChangeValidation: cfg.DisableConfChangeValidation,
		stepDownOnRemoval:           cfg.StepDownOnRemoval,
		asyncStorageWrites:          cfg.AsyncStorageWrites,
	}
	r.rand = newRandomness(cfg.RandomSource)
	if err := r.restoreConfState(cs); err != nil {
		return nil, err
	}
	if !IsEmptyHardState(hs) {
		if err := r.loadState(hs); err != nil {
			return nil, err
		}
	}
	if cfg.Applied > 0 {
		if err := r.loadApplied(cfg.Applied); err != nil {
			return nil, err
		}
	}
	r.becomeFollower(r.term, None)

	last := r.raftLog.lastEntryID()
	r.logger.Infof("newRaft %x [peers: %v, term: %d, commit: %d, applied: %d, lastindex: %d, lastterm: %d]",
		r.id, r.trk.VoterNodes(), r.term, r.raftLog.committed, r.raftLog.applied, last.index, last.term)
	return r, nil
}

// loadState installs a HardState read from Storage.
func (r *raft) loadState(hs pb.HardState) error {
	if hs.Commit < r.raftLog.committed || hs.Commit > r.raftLog.lastIndex() {
		return fmt.Errorf("raft: stored HardState commit %d is outside the stored log [%d, %d]",
			hs.Commit, r.raftLog.committed, r.raftLog.lastIndex())
	}
	r.raftLog.committed = hs.Commit
	r.term = hs.Term
	r.vote = hs.Vote
	return nil
}

// loadApplied installs Config.Applied.
func (r *raft) loadApplied(applied uint64) error {
	if applied < r.raftLog.applied || applied > r.raftLog.committed {
		return fmt.Errorf("raft: Config.Applied %d is outside [%d, %d] (storage snapshot index, stored commit index)",
			applied, r.raftLog.applied, r.raftLog.committed)
	}
	r.raftLog.appliedTo(applied, 0)
	return nil
}

func (r *raft) softState() SoftState { return SoftState{Lead: r.lead, RaftState: r.state} }

func (r *raft) hardState() pb.HardState {
	return pb.HardState{Term: r.term, Vote: r.vote, Commit: r.raftLog.committed}
}

// reset prepares the peer for a new role in the given term.
func (r *raft) reset(term uint64) {
	if r.term != term {
		r.term = term
		r.vote = None
	}
	r.lead = None

	r.electionElapsed = 0
	r.heartbeatElapsed = 0
	r.resetRandomizedElectionTimeout()

	r.abortLeaderTransfer()

	r.trk.ResetVotes()
	last := r.raftLog.lastIndex()
	r.trk.Visit(func(id uint64, pr *tracker.Progress) {
		*pr = tracker.Progress{
			Next:      last + 1,
			Inflights: tracker.NewInflights(r.trk.MaxInflight, r.trk.MaxInflightBytes),
			IsLearner: pr.IsLearner,
		}
		if id == r.id {
			// NB: everything in the local log is in stable storage or in
			// flight to it, ahead of any message this peer sends from now.
			pr.Match = last
		}
	})

	r.pendingConfIndex = 0
	r.uncommittedSize = 0
	r.appendsPending = false
	r.readOnly = newReadOnly(r.readOnly.option, r.id)
	r.readFwd = readForwarder{}
	r.pendingReadIndexMessages = nil
}

func (r *raft) becomeFollower(term, lead uint64) {
	r.step = stepFollower
	r.reset(term)
	r.tick = r.tickElection
	r.lead = lead
	r.state = StateFollower
	r.logger.Infof("%x became follower at term %d", r.id, r.term)
}

func (r *raft) becomeCandidate() {
	if r.state == StateLeader {
		assertf(false, "%x cannot become candidate from leader at term %d", r.id, r.term)
	}
	r.step = stepCandidate
	r.reset(r.term + 1)
	r.tick = r.tickElection
	r.vote = r.id
	r.state = StateCandidate
	r.logger.Infof("%x became candidate at term %d", r.id, r.term)
}

// becomePreCandidate starts the first phase of a PreVote election (thesis
// 9.6). NB: unlike becomeCandidate it changes neither term nor vote.
func (r *raft) becomePreCandidate() {
	if r.state == StateLeader {
		assertf(false, "%x cannot become pre-candidate from leader at term %d", r.id, r.term)
	}
	r.step = stepCandidate
	r.trk.ResetVotes()
	r.tick = r.tickElection
	r.lead = None
	r.state = StatePreCandidate
	r.logger.Infof("%x became pre-candidate at term %d", r.id, r.term)
}

func (r *raft) becomeLeader() {
	if r.state == StateFollower {
		assertf(false, "%x cannot become leader from follower at term %d", r.id, r.term)
	}
	r.step = stepLeader
	r.reset(r.term)
	r.tick = r.tickHeartbeat
	r.lead = r.id
	r.state = StateLeader
	pr := r.trk.Progress[r.id]
	pr.BecomeReplicate()
	// The leader is always active; the CheckQuorum round preserves this.
	pr.RecentActive = true

	// A configuration change may sit anywhere in the uncommitted tail; rather
	// than scan it, admit the next change only once all of it is applied.
	r.pendingConfIndex = r.raftLog.lastIndex()

	// Paper 5.4.2: a leader only commits entries of its own term by counting
	// replicas, so it appends one right away. Its payload is empty, so it
	// does not count against the uncommitted-size limit.
	if !r.appendEntry(pb.Entry{}) {
		assertf(false, "%x: empty entry refused by a new leader at term %d", r.id, r.term)
	}
	r.logger.Infof("%x became leader at term %d", r.id, r.term)
}

func (r *raft) tickElection() {
	r.electionElapsed++
	if r.promotable() && r.pastElectionTimeout() {
		r.electionElapsed = 0
		if err := r.Step(pb.Message{From: r.id, Type: pb.MsgHup}); err != nil {
			r.logger.Debugf("%x error occurred during election: %v", r.id, err)
		}
	}
}

func (r *raft) tickHeartbeat() {
	r.heartbeatElapsed++
	r.electionElapsed++

	if r.electionElapsed >= r.electionTimeout {
		r.electionElapsed = 0
		if r.checkQuorum {
			if err := r.Step(pb.Message{From: r.id, Type: pb.MsgCheckQuorum}); err != nil {
				r.logger.Debugf("%x error occurred during checking sending heartbeat: %v", r.id, err)
			}
		}
		// A transfer that has not completed within an election timeout is
		// abandoned and this peer keeps leading (thesis 3.10).
		if r.state == StateLeader && r.leadTransferee != None {
			r.abortLeaderTransfer()
			// NB: leaving a joint configuration may have been refused
			// during the transfer; do not wait for the next application.
			r.maybeAutoLeaveJoint(r.raftLog.applied)
		}
	}

	if r.state != StateLeader {
		return
	}
	if r.heartbeatElapsed >= r.heartbeatTimeout {
		r.heartbeatElapsed = 0
		if err := r.Step(pb.Message{From: r.id, Type: pb.MsgBeat}); err != nil {
			r.logger.Debugf("%x error occurred during checking sending heartbeat: %v", r.id, err)
		}
	}
}

// send queues m for the network. It fills in From and, for messages other
// than votes (which carry the term of the election) and those forwarded to
// the leader, the current term.
func (r *raft) send(m pb.Message) {
	if m.From == None {
		m.From = r.id
	}
	// NB: every message goes through here, so the invariants are checked
	// before calling assertf, whose boxed arguments would allocate.
	switch m.Type {
	case pb.MsgVote, pb.MsgVoteResp, pb.MsgPreVote, pb.MsgPreVoteResp:
		if m.Term == 0 {
			assertf(false, "%x sending %s to %x without a term", r.id, m.Type, m.To)
		}
	case pb.MsgProp, pb.MsgReadIndex:
		// NB: these are forwarded to the leader on behalf of a client and are
		// treated like local messages there: no term.
		if m.Term != 0 {
			assertf(false, "%x forwarding %s with term %d", r.id, m.Type, m.Term)
		}
	default:
		if m.Term != 0 {
			assertf(false, "%x sending %s with preset term %d", r.id, m.Type, m.Term)
		}
		m.Term = r.term
	}
	switch m.Type {
	case pb.MsgAppResp, pb.MsgVoteResp, pb.MsgPreVoteResp:
		// These acknowledge state (entries, votes, a snapshot) that must be
		// durable before anyone may rely on it.
		r.sendAfterAppend(m)
	default:
		if m.To == r.id {
			assertf(false, "%x sending %s to itself", r.id, m.Type)
		}
		r.queueMsg(m)
	}
}

// queueMsg appends m to msgs. NB: msgs is handed out with every Ready and
// starts afresh; it is sized for a broadcast to every peer at once, the
// common case for a leader, to save the growth steps.
func (r *raft) queueMsg(m pb.Message) {
	if r.msgs == nil {
		r.msgs = make([]pb.Message, 0, max(1, len(r.trk.Progress)-1))
	}
	r.msgs = append(r.msgs, m)
}

// sendAfterAppend queues m to go out once the current unstable state is
// durable. NB: consecutive self-acknowledgements of appended entries are
// merged into one, so a leader proposing many entries per Ready still steps a
// single MsgAppResp to itself.
func (r *raft) sendAfterAppend(m pb.Message) {
	if !r.asyncStorageWrites && m.To != r.id {
		r.queueMsg(m)
		return
	}
	if n := len(r.msgsAfterAppend); n > 0 && m.To == r.id && m.Type == pb.MsgAppResp && !m.Reject {
		last := &r.msgsAfterAppend[n-1]
		if last.To == r.id && last.Type == pb.MsgAppResp && !last.Reject && last.Term == m.Term {
			last.Index = max(last.Index, m.Index)
			return
		}
	}
	r.msgsAfterAppend = append(r.msgsAfterAppend, m)
}
