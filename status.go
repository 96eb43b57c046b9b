package raft

import (
	"slices"
	"strconv"
	"strings"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// BasicStatus is a peer's state without the progress of its peers or its
// configuration. Getting it (RawNode.BasicStatus) does not allocate.
type BasicStatus struct {
	// ID is the peer's own ID.
	ID uint64

	pb.HardState
	SoftState

	// Applied is the highest index the application confirmed applied.
	Applied uint64

	// LeadTransferee is the peer leadership is being transferred to, or
	// None.
	LeadTransferee uint64
}

// Status is a peer's state. It is a copy: it shares nothing with the peer,
// so the caller may keep and modify it.
type Status struct {
	BasicStatus
	// Config is the peer's current, possibly joint, configuration.
	Config tracker.Config
	// Progress is the leader's view of every peer in Config, itself
	// included, keyed by ID. It is nil unless the peer is the leader.
	Progress map[uint64]tracker.Progress
}

func getBasicStatus(r *raft) BasicStatus {
	return BasicStatus{
		ID:             r.id,
		HardState:      r.hardState(),
		SoftState:      r.softState(),
		Applied:        r.log.applied(),
		LeadTransferee: r.leadTransferee(),
	}
}

// getProgressCopy copies the leader's view of every peer, Inflights included,
// so that the copy is unaffected by later changes.
func getProgressCopy(r *raft) map[uint64]tracker.Progress {
	rp := &r.leading.repl
	m := make(map[uint64]tracker.Progress, len(rp.peers)+1)
	lim := r.windowLimits()
	rp.forEach(func(p peerProgress) { m[p.id] = p.progress(true, lim) })
	return m
}

// getStatus returns a copy of the peer's state that shares nothing with it.
func getStatus(r *raft) Status {
	s := Status{BasicStatus: getBasicStatus(r), Config: r.conf.config()}
	if r.leading != nil {
		s.Progress = getProgressCopy(r)
	}
	return s
}

// leadTransferee returns the peer leadership is being transferred to, or
// None.
func (r *raft) leadTransferee() uint64 {
	if r.leading == nil {
		return None
	}
	return r.leading.transferee()
}

// MarshalJSON encodes the status as a JSON object with the keys id, term,
// vote, commit, lead, raftState, applied, progress and leadtransferee. Peer
// IDs are hexadecimal strings; progress maps each peer's ID to its match,
// next and state, in ID order.
func (s Status) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteString(`{"id":"`)
	b.WriteString(strconv.FormatUint(s.ID, 16))
	b.WriteString(`","term":`)
	b.WriteString(strconv.FormatUint(s.Term, 10))
	b.WriteString(`,"vote":"`)
	b.WriteString(strconv.FormatUint(s.Vote, 16))
	b.WriteString(`","commit":`)
	b.WriteString(strconv.FormatUint(s.Commit, 10))
	b.WriteString(`,"lead":"`)
	b.WriteString(strconv.FormatUint(s.Lead, 16))
	b.WriteString(`","raftState":`)
	b.WriteString(strconv.Quote(s.RaftState.String()))
	b.WriteString(`,"applied":`)
	b.WriteString(strconv.FormatUint(s.Applied, 10))
	b.WriteString(`,"progress":{`)
	ids := make([]uint64, 0, len(s.Progress))
	for id := range s.Progress {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		pr := s.Progress[id]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"`)
		b.WriteString(strconv.FormatUint(id, 16))
		b.WriteString(`":{"match":`)
		b.WriteString(strconv.FormatUint(pr.Match, 10))
		b.WriteString(`,"next":`)
		b.WriteString(strconv.FormatUint(pr.Next, 10))
		b.WriteString(`,"state":`)
		b.WriteString(strconv.Quote(pr.State.String()))
		b.WriteString(`}`)
	}
	b.WriteString(`},"leadtransferee":"`)
	b.WriteString(strconv.FormatUint(s.LeadTransferee, 16))
	b.WriteString(`"}`)
	return []byte(b.String()), nil
}

// String returns the JSON encoding of the status (see MarshalJSON).
func (s Status) String() string {
	b, _ := s.MarshalJSON()
	return string(b)
}
