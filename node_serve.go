package raft

// The implementation of Node: requests served on the callers' goroutines
// under the node's lock, and the node's goroutine, which offers Readies
// nobody was waiting for, applies ticks and ends the node.

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	pb "github.com/quorate/raft/raftpb"
)

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
// ends the process, as it would if the node's goroutine had run the
// request, rather than reach a caller that may recover from it (see
// release).
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
	// of the configuration, and cleared by settle once the node is a member
	// again, whatever made it one (a later change, or a snapshot that
	// restores a configuration that has it). NB: a node that never was a
	// member (one joining with an empty Storage) is not removed: it
	// forwards proposals to its leader.
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
	if n.removed && n.isMember() {
		n.removed = false
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
	defer n.release()
	err := ErrProposalDropped
	if !n.removed {
		m.From = n.id
		err = n.rn.Step(m)
		n.settle()
	}
	return err, nil
}

// release ends a request: it unlocks mu. A panic inside the RawNode (a
// broken invariant) must not reach a caller that may recover from it (an
// HTTP server does) and go on with a node whose state may be corrupt and
// whose lock is held: as in a node whose own goroutine runs the state
// machine, it ends the process, from a goroutine of its own, with the stack
// where it happened. Requests call it deferred, once they hold mu.
func (n *node) release() {
	if v := recover(); v != nil {
		stack := debug.Stack()
		go func() { panic(fmt.Sprintf("raft: node %x: %v\n\n%s", n.id, v, stack)) }()
		select {} // the process is ending
	}
	n.mu.Unlock()
}

// serveConfChange applies a configuration change for ApplyConfChange and
// records whether it removed the node. Callers hold mu.
func (n *node) serveConfChange(cc pb.ConfChangeI) pb.ConfState {
	wasMember := n.isMember()
	cs := *n.rn.ApplyConfChange(cc)
	if wasMember && !n.isMember() {
		n.logger.Infof("raft.node: %x was removed from the configuration; dropping its proposals", n.id)
		n.removed = true
		n.updateProposable()
	}
	// NB: a change that adds the node back clears removed in settle, which
	// every request runs, as does a snapshot that restores it.
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
	defer n.release()
	n.handle(m)
	n.settle()
	return nil
}

func (n *node) Ready() <-chan Ready { return n.readyc }

func (n *node) Advance() {
	if n.acquire(nil) != nil {
		return
	}
	defer n.release()
	// NB: as in etcd-raft, an Advance that comes before its Ready is
	// received (or without AsyncStorageWrites, at all) waits for one to go
	// out, or for Stop. It also covers the moment between the application
	// receiving a Ready from run and run recording it.
	for n.state != readyOut && !n.stopped {
		n.advanced.Wait()
	}
	if n.stopped {
		return
	}
	n.rn.Advance(n.rd)
	n.rd, n.state = Ready{}, readyNone
	n.settle()
}

func (n *node) ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState {
	if n.acquire(nil) != nil {
		return &pb.ConfState{}
	}
	defer n.release()
	cs := n.serveConfChange(cc)
	n.settle()
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
	defer n.release()
	return n.rn.Status()
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
