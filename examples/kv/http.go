package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/transport"
)

// The HTTP API. Every node serves all of it: a follower forwards writes and
// read confirmations to the leader through raft.
//
//	PUT    /keys/{key}        body is the value; 200 {"index":N} once applied
//	GET    /keys/{key}        200 and the value, 404 if unset; linearizable
//	GET    /keys/{key}?stale=true   the local replica's value, no confirmation
//	DELETE /keys/{key}        200 {"index":N} once applied
//	POST   /members           {"changes":[{"op":"add-learner","id":4,"addr":"host:port"}, ...]}
//	GET    /status            role, term, commit, applied, configuration, peers
//
// Errors are a line of text, with a status that says what became of the
// request: 400 it was malformed; 503 it had no effect (retry it); 504 its
// outcome is unknown (a write may or may not be applied, now or later);
// 410 the node was removed from the cluster.

// maxValueBytes bounds a value, and the body of POST /members.
const maxValueBytes = 64 << 10

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /keys/{key}", s.handlePut)
	mux.HandleFunc("DELETE /keys/{key}", s.handleDelete)
	mux.HandleFunc("GET /keys/{key}", s.handleGet)
	mux.HandleFunc("POST /members", s.handleMembers)
	mux.HandleFunc("GET /status", s.handleStatus)
	return mux
}

func (s *server) handlePut(w http.ResponseWriter, r *http.Request) {
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValueBytes))
	if err != nil {
		httpError(w, http.StatusBadRequest, fmt.Errorf("reading the value: %w", err))
		return
	}
	s.write(w, r, command{Op: opPut, Key: r.PathValue("key"), Value: string(value)})
}

func (s *server) handleDelete(w http.ResponseWriter, r *http.Request) {
	s.write(w, r, command{Op: opDelete, Key: r.PathValue("key")})
}

// write proposes c under a fresh request ID and answers once it is applied.
func (s *server) write(w http.ResponseWriter, r *http.Request, c command) {
	if s.isRemoved() {
		httpError(w, http.StatusGone, errRemoved)
		return
	}
	c.ID = newRequestID()
	data, err := encodeCommand(c)
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.propose(ctx, c.ID, func(ctx context.Context) error { return s.node.Propose(ctx, data) }, true)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]uint64{"index": res.index})
}

func (s *server) handleGet(w http.ResponseWriter, r *http.Request) {
	stale := false
	if q := r.URL.Query().Get("stale"); q != "" {
		var err error
		if stale, err = strconv.ParseBool(q); err != nil {
			httpError(w, http.StatusBadRequest, fmt.Errorf("stale=%q: want true or false", q))
			return
		}
	}
	if !stale {
		if s.isRemoved() {
			httpError(w, http.StatusGone, errRemoved)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		index, err := s.readIndex(ctx)
		if err != nil {
			s.fail(w, err)
			return
		}
		w.Header().Set("X-Read-Index", strconv.FormatUint(index, 10))
	}
	s.mu.RLock()
	value, ok := s.state.get(r.PathValue("key"))
	s.mu.RUnlock()
	if !ok {
		httpError(w, http.StatusNotFound, errors.New("no such key"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	io.WriteString(w, value)
}

// Operations of POST /members.
const (
	memberAddLearner = "add-learner" // add a node as a learner; needs addr
	memberAdd        = "add"         // add a voter, or promote a learner
	memberPromote    = "promote"     // promote a learner to voter
	memberRemove     = "remove"      // remove a voter or learner
)

// memberChange is one change of a POST /members request.
type memberChange struct {
	Op   string `json:"op"`
	ID   uint64 `json:"id"`
	Addr string `json:"addr,omitempty"` // the node's raft address
}

// membersRequest is the body of POST /members. Its changes are made in one
// configuration change: one change is made directly, several by joint
// consensus (Raft thesis 4.3), which the leader leaves on its own.
type membersRequest struct {
	Changes []memberChange `json:"changes"`
}

// membersResponse answers POST /members with the configuration once the
// change is applied (and, for a joint change, left).
type membersResponse struct {
	Index uint64       `json:"index"`
	Conf  pb.ConfState `json:"conf"`
}

// confChange turns req into a ConfChangeV2 and the context carrying the
// new addresses, checking it against members, the known members and their
// addresses.
func (req membersRequest) confChange(id uint64, members map[uint64]string) (pb.ConfChangeV2, error) {
	if len(req.Changes) == 0 {
		return pb.ConfChangeV2{}, errors.New("no changes")
	}
	cc := pb.ConfChangeV2{Transition: pb.ConfChangeTransitionAuto}
	ctx := changeContext{ID: id, Addrs: map[uint64]string{}}
	seen := map[uint64]bool{}
	for _, ch := range req.Changes {
		if ch.ID == 0 {
			return pb.ConfChangeV2{}, errors.New("a change of node 0")
		}
		if seen[ch.ID] {
			return pb.ConfChangeV2{}, fmt.Errorf("node %d changed twice", ch.ID)
		}
		seen[ch.ID] = true
		_, member := members[ch.ID]
		var typ pb.ConfChangeType
		switch ch.Op {
		case memberAddLearner, memberAdd:
			typ = pb.ConfChangeAddLearnerNode
			if ch.Op == memberAdd {
				typ = pb.ConfChangeAddNode
			}
			if ch.Addr == "" && !member {
				return pb.ConfChangeV2{}, fmt.Errorf("node %d: a new node needs its raft address (addr)", ch.ID)
			}
			if ch.Addr != "" {
				if _, _, err := net.SplitHostPort(ch.Addr); err != nil {
					return pb.ConfChangeV2{}, fmt.Errorf("node %d: %w", ch.ID, err)
				}
				ctx.Addrs[ch.ID] = ch.Addr
			}
		case memberPromote, memberRemove:
			if !member {
				return pb.ConfChangeV2{}, fmt.Errorf("node %d is not a member", ch.ID)
			}
			if ch.Addr != "" {
				return pb.ConfChangeV2{}, fmt.Errorf("node %d: %s takes no address", ch.ID, ch.Op)
			}
			typ = pb.ConfChangeAddNode
			if ch.Op == memberRemove {
				typ = pb.ConfChangeRemoveNode
			}
		default:
			return pb.ConfChangeV2{}, fmt.Errorf("unknown operation %q; want %s, %s, %s or %s",
				ch.Op, memberAddLearner, memberAdd, memberPromote, memberRemove)
		}
		cc.Changes = append(cc.Changes, pb.ConfChangeSingle{Type: typ, NodeID: ch.ID})
	}
	var err error
	cc.Context, err = encodeChangeContext(ctx)
	return cc, err
}

func (s *server) handleMembers(w http.ResponseWriter, r *http.Request) {
	if s.isRemoved() {
		httpError(w, http.StatusGone, errRemoved)
		return
	}
	var req membersRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxValueBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, fmt.Errorf("decoding the request: %w", err))
		return
	}
	id := newRequestID()
	s.mu.RLock()
	members := maps.Clone(s.state.members)
	s.mu.RUnlock()
	cc, err := req.confChange(id, members)
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.propose(ctx, id, func(ctx context.Context) error { return s.node.ProposeConfChange(ctx, cc) }, false)
	if err != nil {
		s.fail(w, fmt.Errorf("%w (GET /status shows the configuration)", err))
		return
	}
	conf := *res.conf
	if len(conf.VotersOutgoing) > 0 {
		if conf, err = s.waitLeaveJoint(ctx); err != nil {
			s.fail(w, fmt.Errorf("entered the joint configuration at index %d, then %w", res.index, err))
			return
		}
	}
	writeJSON(w, membersResponse{Index: res.index, Conf: conf})
}

// waitLeaveJoint waits until the applied configuration is not joint and
// returns it.
func (s *server) waitLeaveJoint(ctx context.Context) (pb.ConfState, error) {
	for {
		s.mu.RLock()
		conf := s.conf
		s.mu.RUnlock()
		if len(conf.VotersOutgoing) == 0 {
			return conf, nil
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return pb.ConfState{}, fmt.Errorf("%w: did not leave it within %v", errUnknownOutcome, s.cfg.RequestTimeout)
		case <-s.waiters.stopped:
			return pb.ConfState{}, errStopped
		}
	}
}

// statusResponse is the body of GET /status.
type statusResponse struct {
	ID     uint64 `json:"id"`
	Role   string `json:"role"` // leader, follower, candidate or precandidate
	Leader uint64 `json:"leader"`
	Term   uint64 `json:"term"`
	Commit uint64 `json:"commit"`
	// Applied is the index the state machine has applied.
	Applied uint64 `json:"applied"`
	// FirstIndex and LastIndex bound the entries kept in the log.
	FirstIndex uint64 `json:"first_index"`
	LastIndex  uint64 `json:"last_index"`
	// SnapshotIndex is the latest snapshot's index; SnapshotsReceived
	// counts the snapshots received from a leader since the node started.
	SnapshotIndex     uint64 `json:"snapshot_index"`
	SnapshotsReceived int    `json:"snapshots_received"`
	Keys              int    `json:"keys"`
	Removed           bool   `json:"removed"`
	// Conf is the applied configuration; Members the raft addresses of
	// its nodes; Peers the transport's view of each peer.
	Conf    pb.ConfState      `json:"conf"`
	Members map[uint64]string `json:"members"`
	Peers   []peerStatus      `json:"peers"`
}

// peerStatus is a transport.PeerStatus in the JSON of GET /status.
type peerStatus struct {
	ID              uint64 `json:"id"`
	Addr            string `json:"addr"`
	Connected       bool   `json:"connected"`
	QueuedMessages  int    `json:"queued_messages"`
	Sent            uint64 `json:"sent"`
	Dropped         uint64 `json:"dropped"`
	SendingSnapshot bool   `json:"sending_snapshot"`
}

func peerStatuses(ps []transport.PeerStatus) []peerStatus {
	out := make([]peerStatus, len(ps))
	for i, p := range ps {
		out[i] = peerStatus{ID: p.ID, Addr: p.Addr, Connected: p.Connected, QueuedMessages: p.QueuedMessages,
			Sent: p.Sent, Dropped: p.Dropped, SendingSnapshot: p.SendingSnapshot}
	}
	return out
}

func (s *server) status() statusResponse {
	st := s.node.Status()
	first, _ := s.store.FirstIndex()
	last, _ := s.store.LastIndex()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return statusResponse{
		ID:                s.cfg.ID,
		Role:              strings.ToLower(strings.TrimPrefix(st.RaftState.String(), "State")),
		Leader:            st.Lead,
		Term:              st.Term,
		Commit:            st.Commit,
		Applied:           s.applied.get(),
		FirstIndex:        first,
		LastIndex:         last,
		SnapshotIndex:     s.snapshotIndex,
		SnapshotsReceived: s.snapshotsReceived,
		Keys:              len(s.state.data),
		Removed:           s.removed,
		Conf:              s.conf,
		Members:           maps.Clone(s.state.members),
		Peers:             peerStatuses(s.tr.Peers()),
	}
}

func (s *server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.status())
}

// fail answers with the status that says what became of the request.
func (s *server) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, errRemoved):
		code = http.StatusGone
	case errors.Is(err, errUnknownOutcome):
		code = http.StatusGatewayTimeout
	case errors.Is(err, errNotDone), errors.Is(err, errStopped):
		code = http.StatusServiceUnavailable
	}
	httpError(w, code, err)
}

func httpError(w http.ResponseWriter, code int, err error) {
	http.Error(w, err.Error(), code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	// An error here means the client went away; there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}
