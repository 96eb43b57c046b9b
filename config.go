package raft

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// noLimit stands for "unbounded" in the size and count limits of Config.
const noLimit = math.MaxUint64

// maxElectionTick is the largest Config.ElectionTick whose timeouts, drawn
// from [ElectionTick, 2*ElectionTick), are ints.
const maxElectionTick = math.MaxInt / 2

// ReadOnlyOption selects how a leader confirms that it is still the leader
// before it answers a ReadIndex request.
type ReadOnlyOption int

const (
	// ReadOnlySafe confirms leadership with a round of heartbeats acknowledged
	// by a quorum before answering each read (thesis 6.4). It is safe under
	// any clock behaviour.
	ReadOnlySafe ReadOnlyOption = iota
	// ReadOnlyLeaseBased answers reads from the leader's lease alone (thesis
	// 6.4.1): it relies on CheckQuorum and on bounded clock drift, and returns
	// stale data when clocks run at very different rates.
	ReadOnlyLeaseBased
)

// Config holds the parameters of one raft peer. Pass it to NewRawNode,
// StartNode or RestartNode; those validate a copy and never modify it.
type Config struct {
	// ID identifies the local peer. It must be neither None nor one of the
	// local targets (LocalAppendThread, LocalApplyThread).
	ID uint64

	// ElectionTick is the number of Tick calls a follower waits without
	// hearing from a leader before it campaigns; the actual wait is drawn from
	// [ElectionTick, 2*ElectionTick) afresh on every term change (paper 5.2).
	// It must be greater than HeartbeatTick; ElectionTick = 10*HeartbeatTick
	// is a common choice that avoids needless elections.
	ElectionTick int
	// HeartbeatTick is the number of Tick calls between the heartbeats a
	// leader sends to keep its followers from campaigning. It must be > 0.
	HeartbeatTick int

	// Storage holds the entries and state that have been persisted. On start
	// the peer reads its HardState, ConfState, snapshot and log from it; it
	// must not be nil.
	Storage Storage
	// Applied is the index of the last entry the application had applied
	// before a restart, or 0. Entries at or below it are not handed out again
	// as CommittedEntries. It must lie within what Storage holds: between the
	// snapshot index and the persisted commit index.
	Applied uint64

	// AsyncStorageWrites makes the peer hand persistence and application to
	// the application as local messages (MsgStorageAppend to
	// LocalAppendThread, MsgStorageApply to LocalApplyThread) inside
	// Ready.Messages, instead of expecting them to be done before Advance.
	// The application performs those writes in the order given, on whatever
	// goroutines it likes, and steps the Responses each message carries back
	// into the RawNode once the write is durable. Advance must not be called
	// in this mode.
	AsyncStorageWrites bool

	// MaxSizePerMsg bounds the byte size of the entries in one append message
	// (a message carries at least one entry even if that entry is larger).
	// math.MaxUint64 means unbounded; 0 means one entry per message.
	MaxSizePerMsg uint64
	// MaxCommittedSizePerReady bounds the byte size of the committed entries
	// handed out for application and not yet applied. 0 means MaxSizePerMsg.
	MaxCommittedSizePerReady uint64
	// MaxUncommittedEntriesSize bounds the total payload size of the entries
	// a leader has appended but not yet committed; proposals beyond it are
	// dropped with ErrProposalDropped, except that a proposal is always
	// admitted when nothing is pending. 0 means no limit.
	MaxUncommittedEntriesSize uint64
	// MaxInflightMsgs bounds the number of append messages sent to one
	// follower in replicate state that it has not yet acknowledged. It must
	// be > 0.
	MaxInflightMsgs int
	// MaxInflightBytes bounds the payload bytes of the entries sent to one
	// follower and not yet acknowledged. 0 means no limit; otherwise it must
	// be at least MaxSizePerMsg.
	MaxInflightBytes uint64

	// CheckQuorum makes a leader step down when it has not heard from a
	// quorum within an election timeout, and makes a follower that heard
	// from its leader within the election timeout ignore vote requests.
	CheckQuorum bool
	// PreVote makes a peer ask for pre-votes before it bumps its term (thesis
	// 9.6), so that a partitioned peer rejoining the cluster does not depose
	// a healthy leader. A pre-vote is granted only to an up-to-date log, and
	// only by a peer that has not heard from a leader within the election
	// timeout: a leader, and a follower that heard from its leader less than
	// ElectionTick ticks ago, reject it without changing their term, with or
	// without CheckQuorum (unlike etcd-raft v3.6, which applies that check
	// only with CheckQuorum). A follower that called ForgetLeader grants it
	// at once. Transfer campaigns (TransferLeader) skip the pre-vote.
	PreVote bool

	// ReadOnlyOption selects how ReadIndex confirms leadership.
	// ReadOnlyLeaseBased requires CheckQuorum.
	ReadOnlyOption ReadOnlyOption

	// Logger receives the peer's log output; nil means the package logger
	// (see SetLogger).
	Logger Logger

	// DisableProposalForwarding makes a follower drop proposals with
	// ErrProposalDropped instead of forwarding them to the leader.
	DisableProposalForwarding bool

	// DisableConfChangeValidation turns off the leader's checks, at proposal
	// time, of a configuration change against the active configuration (only
	// one change pending at a time; leave a joint configuration before
	// entering another). The checks are best effort because the active
	// configuration can trail the log; use this only with a mechanism above
	// raft that serialises and verifies configuration changes. A change that
	// turns out to be invalid when applied is logged and has no effect.
	DisableConfChangeValidation bool

	// StepDownOnRemoval makes a leader step down to follower when it applies
	// its removal from the configuration or its demotion to learner. Without
	// it, such a leader keeps leading: a demoted one as before, a removed
	// one without accepting proposals. NB: as long as a removed leader runs
	// and sends heartbeats, the remaining voters do not elect another, so a
	// host that does not set this must stop a removed leader once it has
	// applied its removal. Either way the leader applies its removal only
	// once the new configuration can go on without it (see
	// RawNode.ApplyConfChange).
	StepDownOnRemoval bool

	// ReportRefusedConfChanges makes the leader report the configuration
	// changes it refuses (another change still pending, a change that does
	// not fit the active configuration's joint state): ProposeConfChange on
	// the leader returns ErrConfChangeRefused with the reason and appends
	// nothing, and a change forwarded by a follower is committed as a
	// record that RefusedConfChange decodes, instead of an empty entry, so
	// that the host that proposed it learns the outcome. Set it on every
	// peer: the records are committed on all of them, and the application
	// must skip them. (An addition to the etcd-raft v3.6 API, which turns
	// every refused change into an empty entry.)
	ReportRefusedConfChanges bool

	// ReportDroppedReads makes the peer report, in Ready.DroppedReads, every
	// ReadIndex request of the application that will never be answered: no
	// leader to serve it, or the leadership it was sent to (or queued at)
	// ended before confirming it. The application can then retry at once
	// instead of waiting for a timeout. A retried context is not reported:
	// the retry replaces the earlier attempt. Requests lost in the network
	// are not reported either. (An addition to the etcd-raft v3.6 API.)
	ReportDroppedReads bool

	// ReportLostLog makes a follower whose leader shows that its log lost
	// entries it had acknowledged - the leader asks it to commit beyond its
	// last index, or to replace a committed entry - stop taking part
	// instead of panicking: it votes no more, acknowledges nothing, does not
	// campaign and drops proposals and reads, and it reports a
	// *LostLogError, once, in Ready.Fault. The process stays up, so that
	// the host can alert, drain or rebuild the peer (its storage cannot be
	// trusted). Without it, as in etcd-raft v3.6, the peer panics.
	ReportLostLog bool

	// LeaseGuardOnRestart makes a restarted voter refuse votes and
	// pre-votes, other than for a leadership transfer, for an election
	// timeout after it starts, as if it had just heard from a leader.
	//
	// ReadOnlyLeaseBased reads rest on the voters' promise not to vote for
	// another leader within an election timeout of hearing from the
	// current one; a voter that crashes and restarts forgets when it last
	// heard, and could vote at once while the leader still serves reads
	// from a lease that counted on it. With this set on every voter, lease
	// reads stay linearizable across crashes (given clocks that tick at the
	// same rate); without it, as in etcd-raft v3.6, they do not. The cost:
	// after a restart, a peer's first vote (and so an election it does not
	// start itself) comes no sooner than an election timeout later. (An
	// addition to the etcd-raft v3.6 API.)
	LeaseGuardOnRestart bool

	// RandomSource supplies the peer's randomness: the election timeouts it
	// draws (paper 5.2) and the identifiers it gives its ReadIndex requests.
	// nil, the default, draws from a source seeded by the Go runtime's
	// random generator, so that peers with the same ID in different groups,
	// and a peer restarted with the same ID, draw independently. A test or a
	// simulation that must be reproducible passes a seeded source; it must
	// then give every peer, and every restart of a peer, a differently seeded
	// source, or read requests of a restarted peer may be answered for its
	// previous incarnation. The peer uses the source from its own goroutine
	// only; it must not be shared with other peers. (An addition to the
	// etcd-raft v3.6 API.)
	RandomSource rand.Source

	// TraceLogger receives state-machine trace events in builds with tracing
	// deployed (see StateTraceDeployed); it is ignored otherwise.
	TraceLogger TraceLogger
}

// validatedConfig returns a copy of c with defaults filled in, or an error
// naming the first invalid field. c itself is never modified.
func (c *Config) validatedConfig() (Config, error) {
	if c == nil {
		return Config{}, errors.New("raft: config is nil")
	}
	cfg := *c
	switch {
	case cfg.ID == None:
		return cfg, errors.New("raft: Config.ID must not be None (0)")
	case IsLocalMsgTarget(cfg.ID):
		return cfg, fmt.Errorf("raft: Config.ID %#x is reserved for a local storage thread", cfg.ID)
	case cfg.HeartbeatTick <= 0:
		return cfg, fmt.Errorf("raft: Config.HeartbeatTick must be > 0, got %d", cfg.HeartbeatTick)
	case cfg.ElectionTick <= cfg.HeartbeatTick:
		return cfg, fmt.Errorf("raft: Config.ElectionTick (%d) must be greater than HeartbeatTick (%d)",
			cfg.ElectionTick, cfg.HeartbeatTick)
	case cfg.ElectionTick > maxElectionTick:
		// NB: election timeouts are drawn from [ElectionTick, 2*ElectionTick),
		// which must not overflow an int.
		return cfg, fmt.Errorf("raft: Config.ElectionTick (%d) must be at most %d", cfg.ElectionTick, maxElectionTick)
	case cfg.Storage == nil:
		return cfg, errors.New("raft: Config.Storage must not be nil")
	case cfg.MaxInflightMsgs <= 0:
		return cfg, fmt.Errorf("raft: Config.MaxInflightMsgs must be > 0, got %d", cfg.MaxInflightMsgs)
	case cfg.MaxInflightBytes != 0 && cfg.MaxInflightBytes < cfg.MaxSizePerMsg:
		return cfg, fmt.Errorf("raft: Config.MaxInflightBytes (%d) must be 0 (no limit) or >= MaxSizePerMsg (%d)",
			cfg.MaxInflightBytes, cfg.MaxSizePerMsg)
	case cfg.ReadOnlyOption != ReadOnlySafe && cfg.ReadOnlyOption != ReadOnlyLeaseBased:
		return cfg, fmt.Errorf("raft: Config.ReadOnlyOption %d is not a known option", cfg.ReadOnlyOption)
	case cfg.ReadOnlyOption == ReadOnlyLeaseBased && !cfg.CheckQuorum:
		return cfg, errors.New("raft: Config.ReadOnlyOption ReadOnlyLeaseBased requires CheckQuorum")
	}
	if cfg.MaxUncommittedEntriesSize == 0 {
		cfg.MaxUncommittedEntriesSize = noLimit
	}
	if cfg.MaxCommittedSizePerReady == 0 {
		// NB: both used to be one parameter, hence this default.
		cfg.MaxCommittedSizePerReady = cfg.MaxSizePerMsg
	}
	if cfg.MaxInflightBytes == 0 {
		cfg.MaxInflightBytes = noLimit
	}
	if cfg.Logger == nil {
		cfg.Logger = getLogger()
	}
	return cfg, nil
}
