package main

// One replica of the service: its configuration, starting it (the state
// machine from the stored snapshot, then raft, the transport and HTTP), its
// Ready loop, and stopping it.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/transport"
	"github.com/quorate/raft/wal"
)

// serverConfig configures one replica of the service.
type serverConfig struct {
	// ID is the node's raft ID; not 0.
	ID uint64
	// ClusterID is shared by every member; the transport refuses
	// connections from another cluster.
	ClusterID uint64
	// Dir is the data directory: the wal.Store's log and snapshot.
	Dir string
	// Peers maps node IDs to raft addresses. For a new cluster it lists
	// every initial member, this one included, and must be the same on
	// all of them: it becomes the first entries of the log. For a node
	// that joins (Join), it lists the members to accept messages from
	// until the log tells it more.
	Peers map[uint64]string
	// Join starts a node with an empty data directory as one waiting to be
	// added to a running cluster (POST /members), instead of founding a
	// new cluster with Peers. A node with data restarts from it either
	// way.
	Join bool
	// RaftListener and HTTPListener are served by the server and closed
	// when it stops.
	RaftListener net.Listener
	HTTPListener net.Listener

	// TickInterval is the length of a raft tick; ElectionTicks the election
	// timeout in ticks (the heartbeat is one tick).
	TickInterval  time.Duration
	ElectionTicks int
	// SnapshotEntries is how many entries the node applies between two
	// snapshots of its state; CatchUpEntries how many entries before a
	// snapshot the log keeps for followers that are slightly behind. A
	// follower further behind gets the snapshot.
	SnapshotEntries uint64
	CatchUpEntries  uint64
	// RequestTimeout bounds how long an HTTP request waits for raft;
	// RetryInterval is how long a proposal or a read waits before it is
	// made again (for example because the leader it was forwarded to
	// died).
	RequestTimeout time.Duration
	RetryInterval  time.Duration

	// Logger receives the logs of raft, the transport and the server.
	Logger raft.Logger
}

// validate reports the first setting that cannot work, or nil.
func (c *serverConfig) validate() error {
	switch {
	case c.ID == 0:
		return errors.New("the node ID must not be 0")
	case c.ClusterID == 0:
		return errors.New("the cluster ID must not be 0")
	case c.Dir == "":
		return errors.New("no data directory")
	case c.RaftListener == nil || c.HTTPListener == nil:
		return errors.New("no listeners")
	case c.TickInterval <= 0:
		return errors.New("the tick interval must be positive")
	case c.ElectionTicks < 2:
		return fmt.Errorf("an election timeout of %d ticks is not more than the heartbeat (1 tick)", c.ElectionTicks)
	case c.SnapshotEntries == 0:
		return errors.New("the snapshot interval must be at least 1 entry")
	case c.RequestTimeout <= 0 || c.RetryInterval <= 0:
		return errors.New("the request timeout and the retry interval must be positive")
	case c.Logger == nil:
		return errors.New("no logger")
	}
	if _, ok := c.Peers[c.ID]; !ok && !c.Join {
		return fmt.Errorf("node %d is not among the peers of the new cluster", c.ID)
	}
	for id, addr := range c.Peers {
		if id == 0 {
			return errors.New("a peer with ID 0")
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("peer %d: %w", id, err)
		}
	}
	return nil
}

// Errors that tell a client what became of its request.
var (
	// errUnknownOutcome: the write may or may not have been applied, now
	// or later.
	errUnknownOutcome = errors.New("outcome unknown")
	// errNotDone: the request had no effect.
	errNotDone = errors.New("not done")
	// errStopped: the server is stopping.
	errStopped = errors.New("the node is stopping")
	// errRemoved: the node is no longer a member of the cluster.
	errRemoved = errors.New("this node was removed from the cluster")
)

// server is one replica: a raft.Node persisted in a wal.Store, connected
// to its peers by a transport.Transport, applying the log to a kvState and
// serving it over HTTP.
type server struct {
	cfg     serverConfig
	log     raft.Logger
	node    raft.Node
	store   *wal.Store
	tr      *transport.Transport
	httpSrv *http.Server

	waiters *waiters
	applied *appliedIndex

	// mu guards the fields below. The Ready loop writes them; HTTP
	// handlers read them.
	mu sync.RWMutex
	// state is the state machine after applying the log up to applied.
	state *kvState
	// conf is the configuration after applying the log up to applied.
	conf pb.ConfState
	// snapshotIndex is the index of the latest snapshot, taken or
	// received; snapshotsReceived counts those received from a leader.
	snapshotIndex     uint64
	snapshotsReceived int
	// removed is set once the node applied a configuration without it.
	removed bool

	// peers is what the transport has been told: node ID to address.
	// Only the Ready loop uses it once the loop runs.
	peers map[uint64]string
	// confChanged is set when the Ready loop applies a configuration
	// change, and cleared by the next snapshot. Only the Ready loop uses
	// it.
	confChanged bool

	stopOnce sync.Once
	stopc    chan struct{} // closed by stop: the Ready loop returns
	done     chan struct{} // closed when the Ready loop has returned
	err      error         // why the loop returned on its own; read after done
}

// startServer opens (or creates) the node's data directory, starts raft
// from it, and serves the transport and HTTP on the configured listeners.
func startServer(cfg serverConfig) (*server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	store, err := wal.Open(cfg.Dir, wal.Options{})
	if err != nil {
		return nil, err
	}
	s, err := newServer(cfg, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	go s.tr.Serve(cfg.RaftListener)
	go s.httpSrv.Serve(cfg.HTTPListener)
	go s.run()
	return s, nil
}

// newServer restores the state machine from the store's snapshot and
// starts raft: a new cluster's first node with the configured peers, any
// other (restarted or joining) from what the store holds.
func newServer(cfg serverConfig, store *wal.Store) (*server, error) {
	snap, err := store.Snapshot()
	if err != nil {
		return nil, err
	}
	empty, err := storeIsEmpty(store, snap)
	if err != nil {
		return nil, err
	}
	s := &server{
		cfg:     cfg,
		log:     cfg.Logger,
		store:   store,
		waiters: newWaiters(),
		applied: newAppliedIndex(snap.Metadata.Index),
		state:   newKVState(),
		peers:   map[uint64]string{},
		stopc:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	if !raft.IsEmptySnap(snap) {
		if s.state, err = unmarshalKVState(snap.Data); err != nil {
			return nil, err
		}
		s.conf = snap.Metadata.ConfState
		s.snapshotIndex = snap.Metadata.Index
	}
	// The state machine starts from the snapshot, so raft hands out the
	// entries after it.
	if err := s.startNode(raftConfig(cfg, store, snap.Metadata.Index), empty && !cfg.Join); err != nil {
		return nil, err
	}
	if err := s.startTransport(); err != nil {
		s.node.Stop()
		return nil, err
	}
	s.httpSrv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// storeIsEmpty reports whether store, whose snapshot is snap, holds
// nothing at all: no HardState, no entries and no snapshot.
func storeIsEmpty(store *wal.Store, snap pb.Snapshot) (bool, error) {
	hs, _, err := store.InitialState()
	if err != nil {
		return false, err
	}
	last, err := store.LastIndex()
	if err != nil {
		return false, err
	}
	return raft.IsEmptyHardState(hs) && last == 0 && raft.IsEmptySnap(snap), nil
}

// raftConfig returns the raft configuration of the node cfg describes,
// persisting to store, whose state machine has applied the log up to
// applied.
func raftConfig(cfg serverConfig, store *wal.Store, applied uint64) *raft.Config {
	return &raft.Config{
		ID:              cfg.ID,
		ElectionTick:    cfg.ElectionTicks,
		HeartbeatTick:   1,
		Storage:         store,
		Applied:         applied,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		// A leader cut off from the others steps down, and a node that
		// rejoins does not depose a leader that is doing fine.
		CheckQuorum:       true,
		PreVote:           true,
		StepDownOnRemoval: true,
		Logger:            cfg.Logger,
	}
}

// startNode starts raft with rc: if bootstrap, as a founding member of a
// new cluster whose members are the configured peers; otherwise from what
// the store holds (a restart, or a new node waiting to be added).
func (s *server) startNode(rc *raft.Config, bootstrap bool) error {
	if !bootstrap {
		s.node = raft.RestartNode(rc)
		return nil
	}
	peers, err := bootstrapPeers(s.cfg.Peers)
	if err != nil {
		return err
	}
	s.node = raft.StartNode(rc, peers)
	return nil
}

// startTransport creates the transport to the peers and tells it the
// addresses known so far: the configured ones and those in the restored
// state machine.
func (s *server) startTransport() error {
	var err error
	s.tr, err = transport.New(transport.Config{
		ID:        s.cfg.ID,
		ClusterID: s.cfg.ClusterID,
		Raft:      s.node,
		Logger:    s.cfg.Logger,
		// NB: a peer that was down is redialled after at most this pause.
		// The default (5s) would leave a restarted follower without its
		// leader's heartbeats, and its clients without answers, for up to
		// five election timeouts.
		ReconnectMin: reconnectMin,
		ReconnectMax: max(time.Duration(s.cfg.ElectionTicks)*s.cfg.TickInterval, reconnectMin),
	})
	if err != nil {
		return err
	}
	for id, addr := range s.cfg.Peers {
		s.ensurePeer(id, addr)
	}
	for id, addr := range s.state.members {
		s.ensurePeer(id, addr)
	}
	return nil
}

// reconnectMin is the transport's shortest pause between attempts to reach
// a peer.
const reconnectMin = 100 * time.Millisecond

// bootstrapPeers returns the initial members in ID order, each with a
// change context carrying its address, so that every replica learns the
// addresses from the log itself.
func bootstrapPeers(addrs map[uint64]string) ([]raft.Peer, error) {
	var peers []raft.Peer
	for _, id := range slices.Sorted(maps.Keys(addrs)) {
		ctx, err := encodeChangeContext(changeContext{Addrs: map[uint64]string{id: addrs[id]}})
		if err != nil {
			return nil, err
		}
		peers = append(peers, raft.Peer{ID: id, Context: ctx})
	}
	return peers, nil
}

// run is the Ready loop: it ticks raft and handles every Ready until the
// server stops or a Ready cannot be handled.
func (s *server) run() {
	defer close(s.done)
	ticker := time.NewTicker(s.cfg.TickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			s.node.Tick()
		case rd := <-s.node.Ready():
			if err := s.handleReady(rd); err != nil {
				s.log.Errorf("node %x: stopping: %v", s.cfg.ID, err)
				s.err = err
				return
			}
		case <-s.stopc:
			return
		}
	}
}

// handleReady does what a Ready asks, in the order raft requires: persist,
// then send, then apply, then Advance.
func (s *server) handleReady(rd raft.Ready) error {
	// Save syncs when rd.MustSync says so: once it returns, the votes and
	// acknowledgements in rd.Messages rest on durable state.
	if err := s.store.Save(rd); err != nil {
		return fmt.Errorf("persisting a Ready: %w", err)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := s.installSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	s.tr.Send(rd.Messages)
	for _, rs := range rd.ReadStates {
		s.waiters.readState(rs)
	}
	if err := s.apply(rd.CommittedEntries); err != nil {
		return err
	}
	if err := s.maybeSnapshot(); err != nil {
		return err
	}
	s.node.Advance()
	return nil
}

// isRemoved reports whether the node applied a configuration without it.
func (s *server) isRemoved() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.removed
}

// Done is closed when the Ready loop has ended, by stop or on its own
// after an error (see Err).
func (s *server) Done() <-chan struct{} { return s.done }

// Err returns why the Ready loop ended on its own, or nil. Call it after
// Done is closed.
func (s *server) Err() error {
	<-s.done
	return s.err
}

// stop shuts the server down: requests are answered (those waiting for
// raft with an error), the Ready loop ends, then the transport, raft and
// the store close, in that order. It is safe to call more than once.
func (s *server) stop() {
	s.stopOnce.Do(func() {
		s.waiters.stop()
		// NB: the handlers waiting for raft have been released, so a
		// second is enough for them to answer; Shutdown would wait longer
		// for connections a client opened and never used.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			s.httpSrv.Close()
		}
		cancel()
		close(s.stopc)
		<-s.done
		// NB: the transport first, so that it makes no call into the node
		// after the node stopped; Close waits for its calls to return.
		s.tr.Close()
		s.node.Stop()
		if err := s.store.Close(); err != nil {
			s.log.Errorf("node %x: closing the store: %v", s.cfg.ID, err)
		}
	})
}
