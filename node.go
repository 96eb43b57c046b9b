package raft

import (
	"context"
	"errors"
	"sync"

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

// Node is a Raft node with a goroutine of its own; all its methods are safe
// for concurrent use. It is a thin front end over RawNode: each request is
// applied to the RawNode on the caller's goroutine, one at a time and in the
// order they take the node's lock, and the node's goroutine only offers the
// Readies the application was not already waiting for and consumes ticks.
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
	// once the message is handed over; the caller must not rely on it
	// having been processed by then.
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

// readyState is where the node's current Ready is in the handshake with the
// application.
type readyState uint8

const (
	// readyNone: no Ready is built; the next one is built as soon as the
	// RawNode has one.
	readyNone readyState = iota
	// readyOffered: a Ready is built and waits for the application to
	// receive it; the node's goroutine offers it on readyc.
	readyOffered
	// readyOut: the application received the Ready and has not advanced it
	// yet (never under AsyncStorageWrites).
	readyOut
)

// node implements Node. A request runs on its caller's goroutine, holding mu
// for as long as it uses the RawNode, so a request never waits for another
// goroutine to be scheduled. The goroutine run exists for what a caller
// cannot do: offer a Ready nobody was waiting for (a send on readyc blocks
// until the application receives), apply ticks without blocking Tick, and
// end the node's life.
//
// NB: a panic inside the RawNode (a broken invariant, see invariantBroken)
// reaches the caller of the request with mu still held: if the caller
// recovers, the node serves nothing more rather than go on from a state
// that may be corrupt.
type node struct {
	id     uint64
	async  bool // Config.AsyncStorageWrites: no Advance between Readies
	logger Logger

	readyc chan Ready    // offers the next Ready; unbuffered, never closed
	tickc  chan struct{} // buffered ticks (tickBufferSize), consumed by run
	// wakec (capacity 1) tells run that a Ready waits in rd to be offered.
	// Invariant: while state is readyOffered, run holds rd on offer or
	// finds a token in wakec (or is about to pickUp) before it blocks.
	wakec   chan struct{}
	stopc   chan struct{} // Stop requests, received by run
	started chan struct{} // closed by run before it serves anything
	done    chan struct{} // closed when run returns

	// mu guards everything below. Requests are served only between the
	// closing of started and the setting of stopped.
	mu sync.Mutex
	// advanced is signalled (on mu) when a Ready goes out or the node
	// stops: Advance waits on it for a Ready to advance.
	advanced sync.Cond
	rn       *RawNode
	// rd is the Ready in state; it is empty when state is readyNone.
	rd    Ready
	state readyState
	// lead is the leader the node knows of, as last logged.
	lead uint64
	// removed is set once an applied conf change has taken this node out
	// of the configuration, and cleared when one adds it back. NB: a node
	// that never was a member (one joining with an empty Storage) is not
	// removed: it forwards proposals to its leader.
	removed bool
	// proposable is lead != None || removed: proposals are served (a
	// removed node serves them to fail them). Otherwise they could only be
	// dropped, so they wait for a leader instead.
	proposable bool
	// proposablec is closed while proposable holds, and is a fresh open
	// channel while it does not: proposals waiting for a leader wait on it.
	proposablec chan struct{}
	// stopped is set by run when it ends; no request is served after it.
	stopped bool
}

func newNode(rn *RawNode, c *Config) *node {
	logger := c.Logger
	if logger == nil {
		logger = getLogger()
	}
	n := &node{
		id:          c.ID,
		async:       c.AsyncStorageWrites,
		logger:      logger,
		readyc:      make(chan Ready),
		tickc:       make(chan struct{}, tickBufferSize),
		wakec:       make(chan struct{}, 1),
		stopc:       make(chan struct{}),
		started:     make(chan struct{}),
		done:        make(chan struct{}),
		rn:          rn,
		lead:        None,
		proposablec: make(chan struct{}),
	}
	n.advanced.L = &n.mu
	return n
}

// run is the node's goroutine. It offers the Ready that requests left in rd
// (a request hands a Ready straight to an application already waiting in a
// receive, and leaves it to run otherwise), applies ticks and ends the node
// on Stop. Each channel it selects on is annotated with when it is live.
func (n *node) run() {
	n.mu.Lock()
	// NB: the state the node starts with (e.g. bootstrap entries) makes a
	// Ready of its own, built before any request is served.
	n.settle()
	close(n.started)
	offer, rd := n.pickUp()
	n.mu.Unlock()
	for {
		select {
		case <-n.tickc: // always: Tick never waits for run
			n.mu.Lock()
			n.rn.Tick()
			n.settle()
		case <-n.wakec: // a request left a Ready in rd
			n.mu.Lock()
		case offer <- rd: // live while run holds a Ready on offer
			n.mu.Lock()
			n.handedOut(rd)
			n.settle()
		case <-n.stopc:
			n.mu.Lock()
			n.stopped = true
			n.advanced.Broadcast()
			n.mu.Unlock()
			close(n.done)
			return
		}
		offer, rd = n.pickUp()
		n.mu.Unlock()
	}
}

// pickUp returns the channel to offer on and the Ready to offer there: the
// one in rd while it waits to be received, nil and nothing otherwise.
// Callers hold mu.
func (n *node) pickUp() (chan Ready, Ready) {
	if n.state != readyOffered {
		return nil, Ready{}
	}
	return n.readyc, n.rd
}

// settle brings the node's bookkeeping up to date with the RawNode after it
// changed: the known leader, whether proposals are served, and the next
// Ready, built as soon as one exists and none is offered or out. Callers
// hold mu.
func (n *node) settle() {
	if lead := n.rn.raft.lead; lead != n.lead {
		n.logLeaderChange(n.lead, lead, n.rn.raft.term)
		n.lead = lead
		n.updateProposable()
	}
	for n.state == readyNone && n.rn.HasReady() {
		// NB: rd is accepted by the RawNode as soon as it is built, not
		// when the application receives it. That is safe because the
		// RawNode lets messages be stepped between Ready and Advance
		// anyway; whatever happens meanwhile goes into the next Ready.
		rd := n.rn.Ready()
		select {
		case n.readyc <- rd:
			// The application was waiting in a receive: it has rd now,
			// without a detour through run.
			n.handedOut(rd)
		default:
			n.rd, n.state = rd, readyOffered
			select {
			case n.wakec <- struct{}{}:
			default: // run is woken already
			}
		}
	}
}

// handedOut records that the application received rd. Callers hold mu.
func (n *node) handedOut(rd Ready) {
	if n.async {
		// The application acknowledges through the storage responses in
		// rd; there is no Advance to wait for.
		n.rd, n.state = Ready{}, readyNone
		return
	}
	n.rd, n.state = rd, readyOut
	n.advanced.Broadcast()
}

// updateProposable brings proposable and proposablec in line with lead and
// removed. Callers hold mu.
func (n *node) updateProposable() {
	proposable := n.lead != None || n.removed
	switch {
	case proposable && !n.proposable:
		close(n.proposablec)
	case !proposable && n.proposable:
		n.proposablec = make(chan struct{})
	}
	n.proposable = proposable
}

// acquire takes mu for a request, once the node serves requests. It returns
// ErrStopped, without mu, when the node has stopped or stops first, and
// ctx.Err() when ctx (which may be nil) has ended or ends first.
func (n *node) acquire(ctx context.Context) error {
	select {
	case <-n.started:
	default:
		// Only a node whose goroutine has not started yet gets here.
		var ctxDone <-chan struct{}
		if ctx != nil {
			ctxDone = ctx.Done()
		}
		select {
		case <-n.started:
		case <-ctxDone:
			return ctx.Err()
		case <-n.done:
			return ErrStopped
		}
	}
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return ErrStopped
	}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			n.mu.Unlock()
			return err
		}
	}
	return nil
}

// propose steps the proposal m once proposals are served. It returns the
// error of stepping m, or, in handOver, why m was not stepped at all: the
// node stopped or ctx ended first.
func (n *node) propose(ctx context.Context, m pb.Message) (stepped, handOver error) {
	if err := n.acquire(ctx); err != nil {
		return nil, err
	}
	for !n.proposable {
		// A node without a leader could only drop the proposal; waiting
		// lets the caller's proposal go through once one is elected.
		wait := n.proposablec
		n.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.done:
			return nil, ErrStopped
		}
		if err := n.acquire(ctx); err != nil {
			return nil, err
		}
	}
	err := ErrProposalDropped
	if !n.removed {
		m.From = n.id
		err = n.rn.Step(m)
		n.settle()
	}
	n.mu.Unlock()
	return err, nil
}

// serveConfChange applies a configuration change for ApplyConfChange and
// records whether the node is now removed. Callers hold mu.
func (n *node) serveConfChange(cc pb.ConfChangeI) pb.ConfState {
	wasMember := n.isMember()
	cs := *n.rn.ApplyConfChange(cc)
	switch {
	case n.isMember():
		n.removed = false
	case wasMember:
		n.logger.Infof("raft.node: %x was removed from the configuration; dropping its proposals", n.id)
		n.removed = true
	}
	n.updateProposable()
	return cs
}

// isMember reports whether the node is in its own configuration, as a voter
// or a learner, in either half of a joint configuration.
func (n *node) isMember() bool {
	return n.rn.raft.conf.isMember(n.id)
}

// handle applies a request that is not a proposal: the node's own requests
// that RawNode exposes as methods, and everything else through
// RawNode.Step. Callers hold mu.
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
	return proposeResult(n.propose(ctx, pb.Message{Type: pb.MsgProp, Entries: []pb.Entry{{Data: data}}}))
}

func (n *node) ProposeConfChange(ctx context.Context, cc pb.ConfChangeI) error {
	m, err := confChangeProposal(cc)
	if err != nil {
		return err
	}
	return proposeResult(n.propose(ctx, m))
}

// proposeResult is what Propose returns for propose's results.
func proposeResult(stepped, handOver error) error {
	if handOver != nil {
		return handOver
	}
	return stepped
}

func (n *node) Step(ctx context.Context, m pb.Message) error {
	if IsLocalMsg(m.Type) && !IsLocalMsgTarget(m.From) {
		// A local message type cannot legitimately come from a peer.
		return nil
	}
	if m.Type == pb.MsgProp {
		// A proposal forwarded by a follower: it waits for a leader like a
		// local one, but the sender has nobody to report the outcome to.
		_, err := n.propose(ctx, m)
		return err
	}
	return n.send(ctx, m)
}

// send applies m to the node; it returns an error only when m could not be
// handed over.
func (n *node) send(ctx context.Context, m pb.Message) error {
	if err := n.acquire(ctx); err != nil {
		return err
	}
	n.handle(m)
	n.settle()
	n.mu.Unlock()
	return nil
}

func (n *node) Ready() <-chan Ready { return n.readyc }

func (n *node) Advance() {
	if n.acquire(nil) != nil {
		return
	}
	// NB: as in etcd-raft, an Advance that comes before its Ready is
	// received (or without AsyncStorageWrites, at all) waits for one to go
	// out, or for Stop. It also covers the moment between the application
	// receiving a Ready from run and run recording it.
	for n.state != readyOut && !n.stopped {
		n.advanced.Wait()
	}
	if n.stopped {
		n.mu.Unlock()
		return
	}
	n.rn.Advance(n.rd)
	n.rd, n.state = Ready{}, readyNone
	n.settle()
	n.mu.Unlock()
}

func (n *node) ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState {
	if n.acquire(nil) != nil {
		return &pb.ConfState{}
	}
	cs := n.serveConfChange(cc)
	n.settle()
	n.mu.Unlock()
	return &cs
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
	if n.acquire(nil) != nil {
		return Status{}
	}
	st := n.rn.Status()
	n.mu.Unlock()
	return st
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
	case n.stopc <- struct{}{}:
	case <-n.done:
		return
	}
	<-n.done
}
