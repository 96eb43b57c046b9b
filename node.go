package raft

import (
	"context"
	"errors"

	pb "github.com/quorate/raft/raftpb"
)

// SnapshotStatus is the outcome of sending a snapshot to a follower, as the
// application reports it through ReportSnapshot.
type SnapshotStatus int

const (
	// SnapshotFinish reports that the follower received the snapshot.
	SnapshotFinish SnapshotStatus = 1
	// SnapshotFailure reports that sending the snapshot failed; the leader
	// goes back to probing the follower.
	SnapshotFailure SnapshotStatus = 2
)

// ErrStopped is returned by the Node methods that take a context when the
// node has been stopped.
var ErrStopped = errors.New("raft: stopped")

// Peer names a member of the initial configuration given to StartNode or
// RawNode.Bootstrap. Context is opaque to the library: it is carried in the
// ConfChange that adds the peer, so the application sees it again when it
// applies that entry (for example the peer's address).
type Peer struct {
	// ID is the peer's ID; it must not be None.
	ID uint64
	// Context is carried unchanged in the ConfChange adding the peer.
	Context []byte
}

// Node is a Raft node driven by its own goroutine; all its methods are safe
// for concurrent use. It is a thin channel front end over RawNode: each
// method hands a request to the node's goroutine, which applies it to the
// RawNode in arrival order.
//
// The application's side of the contract is the Ready loop: receive a Ready
// from Ready(), persist its HardState, Entries and Snapshot, send its
// Messages, apply its CommittedEntries (calling ApplyConfChange for conf
// change entries), then call Advance. The node offers no further Ready until
// Advance is called (unless Config.AsyncStorageWrites is set, see Advance).
//
// Methods that take a context return ctx.Err() when the context ends before
// the request is handed over, and ErrStopped once the node has been stopped.
type Node interface {
	// Tick advances the node's logical clock by one tick; election and
	// heartbeat timeouts are counted in ticks. Tick never blocks: when the
	// node's goroutine has fallen so far behind that its tick buffer is
	// full, the tick is dropped and a warning logged.
	Tick()

	// Campaign makes the node start an election (a pre-election first when
	// Config.PreVote is set). It returns once the request is handed to the
	// node, not when the election is decided; watch SoftState in Ready for
	// the outcome.
	Campaign(ctx context.Context) error

	// Propose proposes data to be appended to the log. It returns once the
	// proposal has been stepped into the state machine, with the error that
	// stepping produced (ErrProposalDropped when the node cannot take it,
	// e.g. during a leadership transfer or over the uncommitted size limit).
	// A nil error does not mean the entry will commit: proposals can be lost
	// on leader changes, and the application must match committed entries
	// to its proposals (and retry) itself.
	//
	// While the node knows of no leader, proposals are not accepted and
	// Propose blocks until a leader is known, ctx ends or the node stops.
	//
	// Once the node has applied (ApplyConfChange) a configuration change
	// that removes it, Propose fails at once with ErrProposalDropped, on a
	// leader and a follower alike, until a later change adds it back.
	// NB: this differs from etcd-raft v3.6, whose Node leaves such
	// proposals blocked (until ctx ends) rather than failing them.
	Propose(ctx context.Context, data []byte) error

	// ProposeConfChange proposes a configuration change, a pb.ConfChange or
	// a pb.ConfChangeV2, with the same blocking and error behaviour as
	// Propose. Like any proposal it may be lost; in addition the leader
	// ignores (turns into an empty entry) a change proposed while another
	// one is still pending, unless Config.DisableConfChangeValidation is
	// set. The change takes effect only when the application, having seen
	// the committed entry, calls ApplyConfChange.
	ProposeConfChange(ctx context.Context, cc pb.ConfChangeI) error

	// Step hands a message received from a peer to the node. It returns
	// once the message is handed over, not when it has been processed.
	// Messages of a local type (see IsLocalMsg) are ignored, returning nil,
	// unless they come from the local storage threads (LocalAppendThread,
	// LocalApplyThread) as responses under AsyncStorageWrites. Responses
	// from peers the node does not track are dropped. Raft may keep
	// msg.Entries (see RawNode.Step): do not modify them afterwards.
	Step(ctx context.Context, msg pb.Message) error

	// Ready returns the channel on which the node offers its next Ready:
	// the state to persist, the messages to send and the entries to apply.
	// A Ready is offered only when there is something in it, and at most
	// one at a time: after receiving one, the application must handle it
	// completely and call Advance before the next is offered.
	//
	// The state in a Ready is fixed when it is offered; what happens while
	// it waits to be received goes into the next one. After Stop nothing
	// is offered and, as in etcd-raft, the channel is never closed: a loop
	// selecting on it alongside its own shutdown signal does not spin.
	//
	// NB: the application must persist Entries, HardState and Snapshot
	// (synchronously when MustSync is set) before sending Messages, and
	// must not apply CommittedEntries it has not persisted: a message may
	// acknowledge or vote based on state that has to survive a crash.
	Ready() <-chan Ready

	// Advance tells the node that the application has handled the last
	// Ready it received: persisted, sent and applied it. The next Ready is
	// offered only after Advance. Calling Advance without an outstanding
	// Ready blocks until Stop.
	//
	// With Config.AsyncStorageWrites Advance must not be called: the
	// application instead acknowledges writes and applications by stepping
	// the responses carried in the MsgStorageAppend and MsgStorageApply
	// messages of each Ready, and the next Ready may be offered at once.
	Advance()

	// ApplyConfChange applies a committed configuration change to the node
	// and returns the resulting ConfState, which the application should
	// persist with its applied state (it is needed to create snapshots).
	// Call it for every committed EntryConfChange and EntryConfChangeV2
	// entry, in log order, whether or not the change was proposed by this
	// node. After Stop it returns the zero ConfState.
	ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState

	// TransferLeadership asks the leader lead to hand leadership to
	// transferee. It returns once the request is handed over (or when ctx
	// ends or the node stops); the transfer itself may fail, e.g. when the
	// transferee does not catch up within an election timeout. Watch
	// SoftState for the result.
	TransferLeadership(ctx context.Context, lead, transferee uint64)

	// ForgetLeader makes a follower forget its current leader, as if it had
	// not heard from it for an election timeout, so that a pre-vote for
	// another candidate can succeed at once instead of waiting for the
	// timeout. Use it when the application knows the leader is gone. It is
	// a no-op on a leader, a candidate, a follower without a leader, and
	// under ReadOnlyLeaseBased (forgetting would break the lease).
	ForgetLeader(ctx context.Context) error

	// ReadIndex requests a linearizable read point. When the node, as
	// leader, has confirmed that it still leads, a ReadState carrying rctx
	// and the commit index at the time of the request shows up in a later
	// Ready; the application may serve the read once it has applied up to
	// that index. rctx should be unique per request. A nil error means
	// only that the request was handed over: a request may be dropped (no
	// leader, leader change), so the application must retry on a timeout.
	ReadIndex(ctx context.Context, rctx []byte) error

	// Status returns the current status of the node, including the progress
	// of followers when it leads. It may be called from any goroutine, also
	// while a Ready is being handled. After Stop it returns the zero Status.
	Status() Status

	// ReportUnreachable reports that the last message sent to peer id
	// could not be delivered, so that the leader stops pipelining to it and
	// goes back to probing.
	ReportUnreachable(id uint64)

	// ReportSnapshot reports the outcome of sending a snapshot to peer id.
	// A leader pauses replication to a follower it sent a snapshot to until
	// it hears the outcome, so the application must report every MsgSnap it
	// sends: SnapshotFinish once the follower has it, SnapshotFailure if
	// sending failed.
	ReportSnapshot(id uint64, status SnapshotStatus)

	// Stop stops the node's goroutine. It returns once the goroutine has
	// exited. Every pending and later call then returns promptly: those
	// with an error return ErrStopped, the others return zero values or do
	// nothing. Stop may be called any number of times, from any goroutine.
	Stop()
}

// tickBufferSize bounds the ticks that can wait for the node's goroutine.
// A full buffer means the goroutine is far behind; dropping ticks then only
// delays timeouts, which Raft tolerates.
const tickBufferSize = 128

// StartNode creates a node for a new cluster whose initial members are peers
// and starts its goroutine. The configuration entries for peers are appended
// to the log (term 1) and committed, so the first Ready asks the application
// to persist and apply them. StartNode panics with NewRawNode's error when c
// is invalid; when peers is empty (to restart a node from its storage, or to
// join an existing cluster, use RestartNode); and with an error when a peer
// has ID None or is listed twice (etcd-raft v3.6 only logs a warning then).
func StartNode(c *Config, peers []Peer) Node {
	if len(peers) == 0 {
		panic("raft: StartNode needs at least one peer; a node with state to recover starts with RestartNode")
	}
	rn, err := NewRawNode(c)
	if err != nil {
		panic(err)
	}
	if err := validPeers(peers); err != nil {
		panic(err)
	}
	n := newNode(rn, c)
	if err := rn.Bootstrap(peers); err != nil {
		// NB: as in etcd-raft v3.6, a storage that already holds state is
		// reported, not fatal: the node goes on with what is stored.
		n.logger.Warningf("raft.node: %x could not bootstrap its configuration: %v", n.id, err)
	}
	go n.run()
	return n
}

// RestartNode creates a node from the state in c.Storage and starts its
// goroutine. Use it to restart a node, and to start a node that joins an
// existing cluster with an empty storage (it learns the configuration from
// the leader). It panics with NewRawNode's error when c is invalid.
func RestartNode(c *Config) Node {
	rn, err := NewRawNode(c)
	if err != nil {
		panic(err)
	}
	n := newNode(rn, c)
	go n.run()
	return n
}

// confChangeRequest is an ApplyConfChange call on its way to the node's
// goroutine. Invariant: result has room for one value, so the goroutine
// never blocks on it.
type confChangeRequest struct {
	cc     pb.ConfChangeV2
	result chan pb.ConfState
}

// proposal is a MsgProp on its way to the node's goroutine.
type proposal struct {
	m pb.Message
	// result receives the error of stepping m. It is nil when the sender
	// does not wait for the outcome (a proposal forwarded by a peer).
	// Invariant: when non-nil it has room for one value, so the node's
	// goroutine never blocks on it.
	result chan error
}

// node implements Node as a single goroutine (run) that owns the RawNode and
// serves requests arriving on its channels, one at a time.
type node struct {
	// rn is used only by the run goroutine.
	rn     *RawNode
	id     uint64
	async  bool // Config.AsyncStorageWrites: no Advance between Readies
	logger Logger

	propc    chan proposal          // proposals; served only while a leader is known
	recvc    chan pb.Message        // peer messages and the node's own requests
	confc    chan confChangeRequest // ApplyConfChange requests, each with its reply channel
	readyc   chan Ready             // offers the next Ready; never closed
	advancec chan struct{}          // Advance; served only while a Ready is out
	tickc    chan struct{}          // buffered ticks (tickBufferSize)
	status   chan chan Status       // Status requests, each with a reply channel of capacity 1
	stop     chan struct{}          // Stop requests
	done     chan struct{}          // closed when run has returned
}

func newNode(rn *RawNode, c *Config) *node {
	logger := c.Logger
	if logger == nil {
		logger = getLogger()
	}
	return &node{
		rn:       rn,
		id:       c.ID,
		async:    c.AsyncStorageWrites,
		logger:   logger,
		propc:    make(chan proposal),
		recvc:    make(chan pb.Message),
		confc:    make(chan confChangeRequest),
		readyc:   make(chan Ready),
		advancec: make(chan struct{}),
		tickc:    make(chan struct{}, tickBufferSize),
		status:   make(chan chan Status),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// loopState is what the node's goroutine keeps between iterations.
type loopState struct {
	propc    chan proposal // n.propc while a leader is known or the node is removed
	readyc   chan Ready    // n.readyc while rd waits to be received
	advancec chan struct{} // n.advancec while rd is out and not advanced
	rd       Ready
	lead     uint64
	// removed is set once an applied conf change has taken this node out
	// of the configuration, and cleared when one adds it back. NB: a node
	// that never was a member (one joining with an empty Storage) is not
	// removed: it forwards proposals to its leader.
	removed bool
}

// run is the node's goroutine. Each iteration decides which requests it can
// serve now by setting the channels it selects on (a nil channel is never
// ready), then serves exactly one.
func (n *node) run() {
	s := loopState{lead: None}
	for {
		n.prepare(&s)
		select {
		case p := <-s.propc:
			n.serveProposal(p, s.removed)
		case m := <-n.recvc:
			n.handle(m)
		case req := <-n.confc:
			s.removed = n.serveConfChange(req, s.removed)
		case <-n.tickc:
			n.rn.Tick()
		case s.readyc <- s.rd:
			s.readyc = nil
			if n.async {
				// The application acknowledges through the storage
				// responses in rd; there is no Advance to wait for.
				s.rd = Ready{}
			} else {
				s.advancec = n.advancec
			}
		case <-s.advancec:
			n.rn.Advance(s.rd)
			s.rd, s.advancec = Ready{}, nil
		case c := <-n.status:
			c <- n.rn.Status()
		case <-n.stop:
			close(n.done)
			return
		}
	}
}

// prepare sets the channels of the next iteration: a Ready to offer, if
// none is out, and proposals to take, if they can be served.
func (n *node) prepare(s *loopState) {
	// NB: rd is accepted by the RawNode as soon as it is built, not when
	// the application receives it. That is safe because the RawNode lets
	// messages be stepped between Ready and Advance anyway; whatever
	// happens meanwhile goes into the next Ready.
	if s.readyc == nil && s.advancec == nil && n.rn.HasReady() {
		s.rd = n.rn.Ready()
		s.readyc = n.readyc
	}
	if st := n.rn.BasicStatus(); st.Lead != s.lead {
		n.logLeaderChange(s.lead, st.Lead, st.Term)
		s.lead = st.Lead
	}
	// A node without a leader could only drop proposals; leaving them
	// queued lets the callers wait for one to be elected. A removed node
	// serves them at once, to fail them.
	s.propc = nil
	if s.lead != None || s.removed {
		s.propc = n.propc
	}
}

// serveProposal steps a proposal, or fails it if the node was removed.
func (n *node) serveProposal(p proposal, removed bool) {
	err := ErrProposalDropped
	if !removed {
		p.m.From = n.id
		err = n.rn.Step(p.m)
	}
	if p.result != nil {
		p.result <- err
	}
}

// serveConfChange applies a configuration change for ApplyConfChange and
// returns whether the node is now removed.
func (n *node) serveConfChange(req confChangeRequest, removed bool) bool {
	wasMember := n.isMember()
	req.result <- *n.rn.ApplyConfChange(req.cc)
	switch {
	case n.isMember():
		return false
	case wasMember:
		n.logger.Infof("raft.node: %x was removed from the configuration; dropping its proposals", n.id)
		return true
	}
	return removed
}

// isMember reports whether the node is in its own configuration, as a voter
// or a learner, in either half of a joint configuration.
func (n *node) isMember() bool {
	return n.rn.raft.conf.isMember(n.id)
}

// handle applies a message from recvc: the node's own requests that RawNode
// exposes as methods, and everything else through RawNode.Step.
func (n *node) handle(m pb.Message) {
	switch m.Type {
	case pb.MsgHup:
		_ = n.rn.Campaign()
	case pb.MsgUnreachable:
		n.rn.ReportUnreachable(m.From)
	case pb.MsgSnapStatus:
		status := SnapshotFinish
		if m.Reject {
			status = SnapshotFailure
		}
		n.rn.ReportSnapshot(m.From, status)
	default:
		// NB: the errors RawNode.Step returns here concern the message, not
		// the node (e.g. a response from a peer no longer in the
		// configuration); like a lossy network, the node drops such
		// messages.
		_ = n.rn.Step(m)
	}
}

func (n *node) logLeaderChange(from, to, term uint64) {
	switch {
	case to == None:
		n.logger.Infof("raft.node: %x lost its leader %x at term %d", n.id, from, term)
	case from == None:
		n.logger.Infof("raft.node: %x learned of leader %x at term %d", n.id, to, term)
	default:
		n.logger.Infof("raft.node: %x follows leader %x instead of %x in term %d", n.id, to, from, term)
	}
}

func (n *node) Tick() {
	select {
	case n.tickc <- struct{}{}:
	case <-n.done:
	default:
		n.logger.Warningf("raft.node: %x dropped a tick: %d ticks are already waiting; the node's goroutine is blocked or too slow", n.id, tickBufferSize)
	}
}

func (n *node) Campaign(ctx context.Context) error {
	return n.send(ctx, pb.Message{Type: pb.MsgHup})
}

func (n *node) Propose(ctx context.Context, data []byte) error {
	return n.propose(ctx, pb.Message{Type: pb.MsgProp, Entries: []pb.Entry{{Data: data}}})
}

func (n *node) ProposeConfChange(ctx context.Context, cc pb.ConfChangeI) error {
	m, err := confChangeProposal(cc)
	if err != nil {
		return err
	}
	return n.propose(ctx, m)
}

func (n *node) Step(ctx context.Context, m pb.Message) error {
	if IsLocalMsg(m.Type) && !IsLocalMsgTarget(m.From) {
		// A local message type cannot legitimately come from a peer.
		return nil
	}
	if m.Type == pb.MsgProp {
		// A proposal forwarded by a follower: queued like a local one (so it
		// waits for a leader), but the sender has nobody to report to.
		return n.enqueueProposal(ctx, proposal{m: m})
	}
	return n.send(ctx, m)
}

// propose hands m to the node's goroutine and waits for the result of
// stepping it.
func (n *node) propose(ctx context.Context, m pb.Message) error {
	p := proposal{m: m, result: make(chan error, 1)}
	if err := n.enqueueProposal(ctx, p); err != nil {
		return err
	}
	select {
	case err := <-p.result:
		return err
	case <-ctx.Done():
		return resultOr(p.result, ctx.Err())
	case <-n.done:
		return resultOr(p.result, ErrStopped)
	}
}

// resultOr returns the result in result if it has already arrived, else err.
// NB: select picks among ready cases at random, so a result that arrived
// together with a cancellation or stop would otherwise be reported as the
// latter although the proposal was stepped.
func resultOr(result chan error, err error) error {
	select {
	case res := <-result:
		return res
	default:
		return err
	}
}

func (n *node) enqueueProposal(ctx context.Context, p proposal) error {
	select {
	case n.propc <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrStopped
	}
}

// send hands m to the node's goroutine without waiting for it to be
// processed.
func (n *node) send(ctx context.Context, m pb.Message) error {
	select {
	case n.recvc <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrStopped
	}
}

func (n *node) Ready() <-chan Ready { return n.readyc }

func (n *node) Advance() {
	select {
	case n.advancec <- struct{}{}:
	case <-n.done:
	}
}

func (n *node) ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState {
	req := confChangeRequest{cc: cc.AsV2(), result: make(chan pb.ConfState, 1)}
	select {
	case n.confc <- req:
		// NB: run answers a request it took before it serves anything
		// else, so the answer comes even if Stop is called meanwhile.
		cs := <-req.result
		return &cs
	case <-n.done:
		return &pb.ConfState{}
	}
}

func (n *node) TransferLeadership(ctx context.Context, lead, transferee uint64) {
	_ = n.send(ctx, pb.Message{Type: pb.MsgTransferLeader, From: transferee, To: lead})
}

func (n *node) ForgetLeader(ctx context.Context) error {
	return n.send(ctx, pb.Message{Type: pb.MsgForgetLeader})
}

func (n *node) ReadIndex(ctx context.Context, rctx []byte) error {
	return n.send(ctx, pb.Message{Type: pb.MsgReadIndex, Entries: []pb.Entry{{Data: rctx}}})
}

func (n *node) Status() Status {
	c := make(chan Status, 1)
	select {
	case n.status <- c:
		return <-c
	case <-n.done:
		return Status{}
	}
}

func (n *node) ReportUnreachable(id uint64) {
	_ = n.send(context.Background(), pb.Message{Type: pb.MsgUnreachable, From: id})
}

func (n *node) ReportSnapshot(id uint64, status SnapshotStatus) {
	m := pb.Message{Type: pb.MsgSnapStatus, From: id, Reject: status == SnapshotFailure}
	_ = n.send(context.Background(), m)
}

func (n *node) Stop() {
	select {
	case n.stop <- struct{}{}:
	case <-n.done:
		return
	}
	<-n.done
}
