package transport

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// Transport carries raft messages between the local node and its peers.
// Create one with New, add the peers, run Serve on a listener, hand every
// Ready's Messages to Send, and Close it on shutdown. All methods are safe
// for concurrent use.
type Transport struct {
	cfg      Config // validated; never changed after New
	log      raft.Logger
	reporter *reporter

	// ctx ends when Close is called; every goroutine of the transport
	// watches it. wg counts those goroutines; Close waits for them.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards the fields below. Goroutines are started (wg.Add) only
	// with mu held and closed false, so that Close's wg.Wait sees them.
	mu     sync.RWMutex
	closed bool
	peers  map[uint64]*peer
	// listeners are the listeners given to Serve and not yet closed.
	listeners map[net.Listener]struct{}
	// inbound maps every accepted connection to its sender's ID, or to 0
	// until the sender's hello has been checked.
	inbound map[net.Conn]uint64
	// streams holds each sender's current inbound message stream.
	// Invariant: inbound[streams[id]] == id.
	streams map[uint64]net.Conn
}

// New validates cfg and returns a Transport with no peers. It starts one
// goroutine (which delivers reports to cfg.Raft) and opens no socket until
// AddPeer or Serve is called.
func New(cfg Config) (*Transport, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg:       cfg,
		log:       cfg.Logger,
		reporter:  newReporter(cfg.Raft),
		ctx:       ctx,
		cancel:    cancel,
		peers:     map[uint64]*peer{},
		listeners: map[net.Listener]struct{}{},
		inbound:   map[net.Conn]uint64{},
		streams:   map[uint64]net.Conn{},
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.reporter.run(ctx)
	}()
	return t, nil
}

// checkPeer returns an error wrapping ErrInvalidPeer when id or addr
// cannot name a peer.
func (t *Transport) checkPeer(id uint64, addr string) error {
	switch {
	case id == raft.None:
		return fmt.Errorf("%w: ID 0", ErrInvalidPeer)
	case id == t.cfg.ID:
		return fmt.Errorf("%w: %x is the local node", ErrInvalidPeer, id)
	case raft.IsLocalMsgTarget(id):
		return fmt.Errorf("%w: %x is reserved for local storage threads", ErrInvalidPeer, id)
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("%w: address %q is not host:port", ErrInvalidPeer, addr)
	}
	return nil
}

// AddPeer starts connecting to peer id at addr (host:port) and accepts
// connections from it. Messages to id are dropped (and reported) until
// the connection is up; PeerStatus.Connected tells when it is. It returns
// ErrPeerExists if id was already added, an error wrapping ErrInvalidPeer
// for an unusable id or address, and ErrClosed after Close.
func (t *Transport) AddPeer(id uint64, addr string) error {
	if err := t.checkPeer(id, addr); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.peers[id] != nil {
		return ErrPeerExists
	}
	p := newPeer(t, id, addr)
	t.peers[id] = p
	t.wg.Add(1)
	go p.run()
	return nil
}

// UpdatePeer points peer id at a new address: the current connection, if
// any, is closed and the next one is made to addr at once. Messages queued
// for the old connection are dropped and reported. Updating to the same
// address does nothing. Errors are as for AddPeer, with ErrPeerNotFound for
// an unknown id.
func (t *Transport) UpdatePeer(id uint64, addr string) error {
	if err := t.checkPeer(id, addr); err != nil {
		return err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return ErrClosed
	}
	p := t.peers[id]
	if p == nil {
		return ErrPeerNotFound
	}
	p.setAddress(addr)
	return nil
}

// RemovePeer stops talking to peer id: its outgoing connections close,
// its queue is discarded (without reports), and connections from it are
// closed and refused from then on. It returns without waiting for the
// connections' goroutines. It returns ErrPeerNotFound for an unknown id
// and ErrClosed after Close.
func (t *Transport) RemovePeer(id uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	p := t.peers[id]
	if p == nil {
		return ErrPeerNotFound
	}
	delete(t.peers, id)
	p.stop()
	for c, from := range t.inbound {
		if from == id {
			c.Close()
		}
	}
	t.log.Infof("transport %x: removed peer %x", t.cfg.ID, id)
	return nil
}

// Send queues msgs for their recipients and returns without waiting for
// the network; call it with each Ready's Messages once the Ready has been
// persisted. It never blocks on a peer. A message is dropped, and
// ReportUnreachable called for its recipient from another goroutine, when
// the recipient is unknown or not connected, when its queue is full, or
// when the message does not fit in a frame. A MsgSnap is sent on a
// connection of its own and reported with ReportSnapshot (a second MsgSnap
// to a peer while one is being sent fails at once).
//
// The transport keeps the messages (their entries and snapshot data)
// until they are written, and does not modify them; the caller must not
// modify them either. Messages to the local storage threads
// (raft.LocalAppendThread, raft.LocalApplyThread) are the host's to handle
// and must not be passed here. After Close, Send drops everything without
// reports.
func (t *Transport) Send(msgs []raftpb.Message) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return
	}
	// The writers are woken once everything is queued, so that the
	// messages of one call to the same peer go out in one write.
	var wakeBuf [8]*peer
	wake := wakeBuf[:0]
	defer func() {
		for _, p := range wake {
			p.queue.signal()
		}
	}()
	for i := range msgs {
		m := &msgs[i]
		p := t.peers[m.To]
		switch {
		case p == nil:
			t.log.Debugf("transport %x: dropping %v to unknown peer %x", t.cfg.ID, m.Type, m.To)
			if m.Type == raftpb.MsgSnap {
				t.reporter.reportSnapshot(m.To, raft.SnapshotFailure)
			}
			t.reporter.reportUnreachable(m.To)
		case m.Type == raftpb.MsgSnap:
			p.sendSnapshot(*m)
		default:
			if p.enqueue(m) && !slices.Contains(wake, p) {
				wake = append(wake, p)
			}
		}
	}
}

// PeerStatus describes the transport's link to one peer.
type PeerStatus struct {
	// ID and Addr are as last given to AddPeer or UpdatePeer.
	ID   uint64
	Addr string
	// Connected is true while a message stream to the peer is up: from a
	// successful handshake until a write or the connection fails.
	Connected bool
	// QueuedMessages and QueuedBytes are what waits in the outbound
	// queue; they never exceed Config.QueueMessages and QueueBytes.
	QueuedMessages int
	QueuedBytes    int
	// Sent counts messages written to the peer's connections, Dropped
	// those given to Send that were not (snapshots are not counted).
	Sent    uint64
	Dropped uint64
	// SendingSnapshot is true while a snapshot is being sent to the peer.
	SendingSnapshot bool
}

// Peers returns the status of every peer, ordered by ID.
func (t *Transport) Peers() []PeerStatus {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]PeerStatus, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, p.status())
	}
	slices.SortFunc(out, func(a, b PeerStatus) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// Close stops the transport: Serve returns ErrClosed and its listeners are
// closed, every connection is closed, queued messages are discarded and
// snapshots being sent are abandoned, all without further calls to Raft.
// It returns once every goroutine of the transport has exited, so it must
// not be called while holding a lock that the Raft methods take. Calls
// after the first return nil at once.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.cancel()
	for ln := range t.listeners {
		ln.Close()
	}
	for c := range t.inbound {
		c.Close()
	}
	for _, p := range t.peers {
		p.stop()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}
