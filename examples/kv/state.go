package main

import (
	"encoding/json"
	"errors"
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// The replicated state machine: what every replica computes from the same
// log. It is deterministic (no clock, no randomness, no I/O) and knows
// nothing of raft beyond ConfState, so it can be tested on its own.

// Operations a command can carry.
const (
	opPut    = "put"
	opDelete = "delete"
)

// command is the payload of a normal log entry: one write of one request.
type command struct {
	// ID identifies the request. The replica that proposed the command
	// waits for the entry carrying it to be applied; a proposal retried
	// after a timeout carries the same ID, so that its second copy in the
	// log is recognised and skipped (Raft thesis 6.3). Never 0.
	ID    uint64 `json:"id"`
	Op    string `json:"op"` // opPut or opDelete
	Key   string `json:"key"`
	Value string `json:"value,omitempty"` // for opPut
}

// validate reports what makes c unusable as a write, or nil.
func (c command) validate() error {
	switch {
	case c.ID == 0:
		return errors.New("command without a request ID")
	case c.Key == "":
		return errors.New("command without a key")
	case c.Op != opPut && c.Op != opDelete:
		return fmt.Errorf("unknown operation %q", c.Op)
	case c.Op == opDelete && c.Value != "":
		return errors.New("a delete carries no value")
	}
	return nil
}

func encodeCommand(c command) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

func decodeCommand(data []byte) (command, error) {
	var c command
	if err := json.Unmarshal(data, &c); err != nil {
		return command{}, fmt.Errorf("decoding a command: %w", err)
	}
	return c, c.validate()
}

// changeContext is the Context of every configuration change in the log:
// the bootstrap entries StartNode writes and the changes POST /members
// proposes. It carries the raft addresses of the nodes the change adds, so
// that every replica, when it applies the change, can tell its transport
// where they are.
type changeContext struct {
	// ID identifies the POST /members request that proposed the change,
	// so that the replica that proposed it can answer it; 0 for the
	// bootstrap entries.
	ID uint64 `json:"id,omitempty"`
	// Addrs maps node IDs to raft (transport) addresses.
	Addrs map[uint64]string `json:"addrs,omitempty"`
}

func encodeChangeContext(c changeContext) ([]byte, error) { return json.Marshal(c) }

// decodeChangeContext decodes a change's Context. An empty context (the
// leader's automatic leaving of a joint configuration has none) is the zero
// changeContext.
func decodeChangeContext(data []byte) (changeContext, error) {
	var c changeContext
	if len(data) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return changeContext{}, fmt.Errorf("decoding a change context: %w", err)
	}
	return c, nil
}

// dedupWindow is how many recently applied request IDs the state machine
// remembers. A retried proposal whose first copy was applied within the
// last dedupWindow writes is skipped; the service retries a proposal only
// for the few seconds of a request's timeout, far fewer writes than this
// at the rates a three-node example sees.
const dedupWindow = 8192

// kvState is the state machine of one replica.
type kvState struct {
	// data holds the keys and their values.
	data map[string]string
	// members maps every node of the configuration (voters and learners,
	// both halves of a joint configuration) whose address a change context
	// gave to that address. Invariant: only IDs of the last ConfState
	// applied are keys.
	members map[uint64]string
	// recent lists the IDs of the last applied writes, oldest first, and
	// seen indexes it. Invariant: len(recent) <= dedupWindow, and seen
	// holds exactly the elements of recent.
	recent []uint64
	seen   map[uint64]struct{}
}

func newKVState() *kvState {
	return &kvState{data: map[string]string{}, members: map[uint64]string{}, seen: map[uint64]struct{}{}}
}

// apply applies c and reports whether it did: false when c's ID is among
// the recently applied ones, in which case c is a retried copy and changes
// nothing.
func (s *kvState) apply(c command) bool {
	if _, dup := s.seen[c.ID]; dup {
		return false
	}
	if len(s.recent) == dedupWindow {
		delete(s.seen, s.recent[0])
		// NB: copy rather than reslice, so the backing array does not
		// creep forward and reallocate on every write.
		s.recent = s.recent[:copy(s.recent, s.recent[1:])]
	}
	s.recent = append(s.recent, c.ID)
	s.seen[c.ID] = struct{}{}
	switch c.Op {
	case opPut:
		s.data[c.Key] = c.Value
	case opDelete:
		delete(s.data, c.Key)
	}
	return true
}

// get returns the value of key and whether it is set.
func (s *kvState) get(key string) (string, bool) {
	v, ok := s.data[key]
	return v, ok
}

// confIDs returns every node ID in cs: voters and learners, incoming and
// outgoing.
func confIDs(cs pb.ConfState) map[uint64]bool {
	ids := map[uint64]bool{}
	for _, l := range [][]uint64{cs.Voters, cs.VotersOutgoing, cs.Learners, cs.LearnersNext} {
		for _, id := range l {
			ids[id] = true
		}
	}
	return ids
}

// applyConfChange records the addresses a change carried for the nodes
// still in cs, the configuration after the change, and forgets the nodes
// that cs no longer holds.
func (s *kvState) applyConfChange(ctx changeContext, cs pb.ConfState) {
	in := confIDs(cs)
	for id, addr := range ctx.Addrs {
		if in[id] {
			s.members[id] = addr
		}
	}
	for id := range s.members {
		if !in[id] {
			delete(s.members, id)
		}
	}
}

// snapshotData is the encoding of a kvState in a raft snapshot.
type snapshotData struct {
	Data    map[string]string `json:"data"`
	Members map[uint64]string `json:"members"`
	Recent  []uint64          `json:"recent"`
}

func (s *kvState) marshal() ([]byte, error) {
	return json.Marshal(snapshotData{Data: s.data, Members: s.members, Recent: s.recent})
}

// unmarshalKVState decodes the data of a snapshot made by marshal.
func unmarshalKVState(b []byte) (*kvState, error) {
	var d snapshotData
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("decoding a snapshot: %w", err)
	}
	if len(d.Recent) > dedupWindow {
		return nil, fmt.Errorf("decoding a snapshot: %d recent request IDs, at most %d expected", len(d.Recent), dedupWindow)
	}
	s := newKVState()
	if d.Data != nil {
		s.data = d.Data
	}
	if d.Members != nil {
		s.members = d.Members
	}
	s.recent = d.Recent
	for _, id := range d.Recent {
		s.seen[id] = struct{}{}
	}
	if len(s.seen) != len(s.recent) {
		return nil, errors.New("decoding a snapshot: repeated request IDs")
	}
	return s, nil
}
