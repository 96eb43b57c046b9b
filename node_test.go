package raft

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// The Node tests run inside synctest bubbles: synctest.Wait returns once the
// node's goroutine (and every other goroutine of the test) is blocked, so a
// test knows exactly what the node has done without sleeping. Nothing ticks
// unless a test calls Tick.

// nodeTestConfig returns a valid configuration for node id over s.
func nodeTestConfig(id uint64, s Storage) *Config {
	return &Config{
		ID:              id,
		ElectionTick:    10,
		HeartbeatTick:   1,
		Storage:         s,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		Logger:          discardLogger,
		RandomSource:    rand.NewPCG(id, id^0x9e3779b97f4a7c15),
	}
}

// nodeHarness plays the application around a Node: it persists each Ready
// into a MemoryStorage, applies committed entries and advances. It does not
// deliver messages; tests inspect them in readies.
type nodeHarness struct {
	t       *testing.T
	n       Node
	s       *MemoryStorage
	readies []Ready      // every Ready handled, in order
	applied []pb.Entry   // committed entries, in the order applied
	cs      pb.ConfState // result of the last ApplyConfChange
}

func startTestNode(t *testing.T, c *Config, peers []Peer) *nodeHarness {
	t.Helper()
	h := &nodeHarness{t: t, s: c.Storage.(*MemoryStorage)}
	if peers == nil {
		h.n = RestartNode(c)
	} else {
		h.n = StartNode(c, peers)
	}
	t.Cleanup(h.n.Stop)
	return h
}

// drain handles Readies until the node, with nothing else going on, has no
// Ready to offer.
func (h *nodeHarness) drain() {
	h.t.Helper()
	for {
		synctest.Wait()
		select {
		case rd := <-h.n.Ready():
			h.handle(rd)
			h.n.Advance()
		default:
			return
		}
	}
}

func (h *nodeHarness) handle(rd Ready) {
	h.t.Helper()
	h.readies = append(h.readies, rd)
	if !IsEmptySnap(rd.Snapshot) {
		require.NoError(h.t, h.s.ApplySnapshot(rd.Snapshot))
	}
	if !IsEmptyHardState(rd.HardState) {
		require.NoError(h.t, h.s.SetHardState(rd.HardState))
	}
	require.NoError(h.t, h.s.Append(rd.Entries))
	for _, e := range rd.CommittedEntries {
		h.applied = append(h.applied, e)
		switch e.Type {
		case pb.EntryConfChange:
			var cc pb.ConfChange
			require.NoError(h.t, cc.Unmarshal(e.Data))
			h.cs = *h.n.ApplyConfChange(cc)
		case pb.EntryConfChangeV2:
			var cc pb.ConfChangeV2
			require.NoError(h.t, cc.Unmarshal(e.Data))
			h.cs = *h.n.ApplyConfChange(cc)
		}
	}
}

// messages returns the messages of every Ready handled so far.
func (h *nodeHarness) messages() []pb.Message {
	var msgs []pb.Message
	for _, rd := range h.readies {
		msgs = append(msgs, rd.Messages...)
	}
	return msgs
}

// messagesOfType returns the messages of type typ among messages().
func (h *nodeHarness) messagesOfType(typ pb.MessageType) []pb.Message {
	var msgs []pb.Message
	for _, m := range h.messages() {
		if m.Type == typ {
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// appliedData returns the payloads of the normal entries applied so far,
// leaving out the empty entries leaders append on election.
func (h *nodeHarness) appliedData() []string {
	var data []string
	for _, e := range h.applied {
		if e.Type == pb.EntryNormal && len(e.Data) > 0 {
			data = append(data, string(e.Data))
		}
	}
	return data
}

// startSingleLeader starts a one-voter cluster and elects its only member.
func startSingleLeader(t *testing.T) *nodeHarness {
	t.Helper()
	h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}})
	h.drain()
	require.NoError(t, h.n.Campaign(context.Background()))
	h.drain()
	st := h.n.Status()
	require.Equal(t, StateLeader, st.RaftState, "got %v, want the single voter to lead", st.RaftState)
	return h
}

// followLeader makes the node at h a follower of lead at term by stepping a
// heartbeat from it.
func (h *nodeHarness) followLeader(lead, term uint64) {
	h.t.Helper()
	m := pb.Message{Type: pb.MsgHeartbeat, From: lead, To: h.n.Status().ID, Term: term}
	require.NoError(h.t, h.n.Step(context.Background(), m))
	h.drain()
	st := h.n.Status()
	require.Equal(h.t, lead, st.Lead, "got leader %x, want %x", st.Lead, lead)
}

// callResult runs f on its own goroutine and reports its result.
type callResult[T any] struct{ c chan T }

func goCall[T any](f func() T) callResult[T] {
	w := callResult[T]{c: make(chan T, 1)}
	go func() { w.c <- f() }()
	return w
}

// result returns f's result if f has returned, and false otherwise. Call it
// after synctest.Wait.
func (w callResult[T]) result() (T, bool) {
	select {
	case v := <-w.c:
		return v, true
	default:
		var zero T
		return zero, false
	}
}

// liveApp is the application of a one-voter node started by
// startLiveLeader. It runs on a goroutine of its own, outside synctest, so
// that the race detector sees every access; it waits only on channels and
// a condition variable. It persists and applies each Ready, applies conf
// changes, campaigns once the bootstrap configuration is applied, and
// records what it applied and the ReadStates it was handed.
type liveApp struct {
	n       Node
	s       *MemoryStorage
	leading chan struct{} // closed once a Ready reports the node leading
	stop    chan struct{} // closed to end the loop
	done    chan struct{} // closed when the loop has ended

	mu      sync.Mutex
	changed *sync.Cond // signalled on mu whenever applied or reads grow
	applied []string   // payloads of normal entries, in the order applied
	reads   int        // ReadStates handed out
}

// startLiveLeader starts a one-voter node with its application loop and
// returns once the node leads. The node and the loop end with the test.
func startLiveLeader(t *testing.T) *liveApp {
	t.Helper()
	s := NewMemoryStorage()
	a := &liveApp{
		n: StartNode(nodeTestConfig(1, s), []Peer{{ID: 1}}), s: s,
		leading: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	a.changed = sync.NewCond(&a.mu)
	go a.run()
	t.Cleanup(func() {
		a.n.Stop()
		close(a.stop)
		<-a.done
	})
	<-a.leading
	return a
}

func (a *liveApp) run() {
	defer close(a.done)
	campaigned, leadPending := false, a.leading
	for {
		select {
		case <-a.stop:
			return
		case rd := <-a.n.Ready():
			if leadPending != nil && rd.SoftState != nil && rd.SoftState.RaftState == StateLeader {
				close(leadPending)
				leadPending = nil
			}
			if !IsEmptyHardState(rd.HardState) {
				_ = a.s.SetHardState(rd.HardState)
			}
			_ = a.s.Append(rd.Entries)
			a.mu.Lock()
			a.reads += len(rd.ReadStates)
			for _, e := range rd.CommittedEntries {
				switch {
				case e.Type == pb.EntryConfChange:
					var cc pb.ConfChange
					_ = cc.Unmarshal(e.Data)
					a.n.ApplyConfChange(cc)
				case e.Type == pb.EntryNormal && len(e.Data) > 0:
					a.applied = append(a.applied, string(e.Data))
				}
			}
			a.changed.Broadcast()
			a.mu.Unlock()
			a.n.Advance()
			if !campaigned {
				// NB: only once the bootstrap configuration is applied;
				// a node with unapplied conf changes refuses to campaign.
				campaigned = true
				_ = a.n.Campaign(context.Background())
			}
		}
	}
}

// waitApplied waits until count payloads have been applied and returns
// those applied so far.
func (a *liveApp) waitApplied(count int) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.applied) < count {
		a.changed.Wait()
	}
	return slices.Clone(a.applied)
}

func TestStartNodeBootstrapsConfState(t *testing.T) {
	peers := []Peer{{ID: 1, Context: []byte("one")}, {ID: 2}, {ID: 3, Context: []byte("three")}}
	start := func(t *testing.T) *nodeHarness {
		h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), peers)
		h.drain()
		return h
	}
	t.Run("the peers are committed as conf changes at term 1", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := start(t)
			require.Len(t, h.applied, len(peers), "h.applied: got %d, want %d", len(h.applied), len(peers))
			for i, e := range h.applied {
				assert.Equal(t, pb.EntryConfChange, e.Type, "entry %d: got type %v, want %v", i, e.Type, pb.EntryConfChange)
				assert.Equal(t, entryID{term: 1, index: uint64(i + 1)}, pbEntryID(&e), "entry %d: got %v", i, pbEntryID(&e))
				var cc pb.ConfChange
				require.NoError(t, cc.Unmarshal(e.Data))
				want := pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: peers[i].ID, Context: peers[i].Context}
				assert.Equal(t, want, cc, "entry %d: got %v, want %v", i, cc, want)
			}
		})
	})
	t.Run("applying them yields the configuration", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := start(t)
			want := DescribeConfState(pb.ConfState{Voters: []uint64{1, 2, 3}})
			got := DescribeConfState(h.cs)
			assert.Equal(t, want, got, "got %s, want %s", got, want)
			st := h.n.Status()
			wantVoters := quorum.MajorityConfig{1: {}, 2: {}, 3: {}}
			assert.Equal(t, wantVoters, st.Config.Voters[0], "got %v, want %v", st.Config.Voters[0], wantVoters)
		})
	})
	t.Run("the bootstrap state is persisted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := start(t)
			hs, _, err := h.s.InitialState()
			require.NoError(t, err)
			want := pb.HardState{Term: 1, Commit: 3}
			assert.Equal(t, want, hs, "got %v, want %v", hs, want)
			last, err := h.s.LastIndex()
			require.NoError(t, err)
			assert.Equal(t, uint64(3), last, "got last index %d, want 3", last)
		})
	})
}

func TestStartNodePanics(t *testing.T) {
	t.Run("invalid config panics with the validation error", func(t *testing.T) {
		c := nodeTestConfig(None, NewMemoryStorage())
		probe := *c
		_, want := NewRawNode(&probe)
		require.Error(t, want, "an ID of None must be invalid")
		assert.PanicsWithError(t, want.Error(), func() { StartNode(c, []Peer{{ID: 1}}) })
	})
	t.Run("no peers", func(t *testing.T) {
		c := nodeTestConfig(1, NewMemoryStorage())
		assert.PanicsWithValue(t, "raft: StartNode needs at least one peer; a node with state to recover starts with RestartNode", func() { StartNode(c, nil) }, "want StartNode without peers to panic")
	})
	t.Run("RestartNode with an invalid config panics with the validation error", func(t *testing.T) {
		c := nodeTestConfig(1, NewMemoryStorage())
		c.HeartbeatTick = c.ElectionTick
		probe := *c
		_, want := NewRawNode(&probe)
		require.Error(t, want, "HeartbeatTick == ElectionTick must be invalid")
		assert.PanicsWithError(t, want.Error(), func() { RestartNode(c) })
	})
}

func TestRestartNode(t *testing.T) {
	ents := []pb.Entry{
		{Term: 1, Index: 1},
		{Term: 1, Index: 2, Data: []byte("a")},
		{Term: 2, Index: 3, Data: []byte("b")},
	}
	newStorage := func(t *testing.T) *MemoryStorage {
		s := NewMemoryStorage()
		require.NoError(t, s.Append(ents))
		require.NoError(t, s.SetHardState(pb.HardState{Term: 2, Vote: 1, Commit: 2}))
		return s
	}
	t.Run("committed entries are applied again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, newStorage(t)), nil)
			h.drain()
			assert.Equal(t, ents[:2], h.applied, "got %v, want %v", h.applied, ents[:2])
			for i, rd := range h.readies {
				assert.Empty(t, rd.Entries, "ready %d: got entries to persist %v, want none", i, rd.Entries)
			}
			st := h.n.Status()
			want := pb.HardState{Term: 2, Vote: 1, Commit: 2}
			assert.Equal(t, want, st.HardState, "got %v, want %v", st.HardState, want)
		})
	})
	t.Run("Config.Applied skips what was applied", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := nodeTestConfig(1, newStorage(t))
			c.Applied = 1
			h := startTestNode(t, c, nil)
			h.drain()
			assert.Equal(t, ents[1:2], h.applied, "got %v, want %v", h.applied, ents[1:2])
		})
	})
	t.Run("from a snapshot", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := NewMemoryStorage()
			snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 2, Term: 1, ConfState: pb.ConfState{Voters: []uint64{1, 2}}}}
			require.NoError(t, s.ApplySnapshot(snap))
			require.NoError(t, s.Append(ents[2:]))
			require.NoError(t, s.SetHardState(pb.HardState{Term: 2, Commit: 3}))
			h := startTestNode(t, nodeTestConfig(1, s), nil)
			h.drain()
			assert.Equal(t, ents[2:], h.applied, "got %v, want %v", h.applied, ents[2:])
			st := h.n.Status()
			wantVoters := quorum.MajorityConfig{1: {}, 2: {}}
			assert.Equal(t, wantVoters, st.Config.Voters[0], "got %v, want %v", st.Config.Voters[0], wantVoters)
		})
	})
}

func TestNodeCampaignSingleVoter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSingleLeader(t)
		st := h.n.Status()
		assert.Equal(t, uint64(1), st.Lead, "got leader %x, want 1", st.Lead)
		assert.Equal(t, uint64(2), st.Term, "got term %d, want 2 (one past the bootstrap term)", st.Term)
		var sawLeader bool
		for _, rd := range h.readies {
			if rd.SoftState != nil && rd.SoftState.RaftState == StateLeader && rd.SoftState.Lead == 1 {
				sawLeader = true
			}
		}
		assert.True(t, sawLeader, "no Ready reported SoftState Lead:1 State:StateLeader")
		// The new leader's empty entry commits at once in a one-voter cluster.
		assert.Equal(t, uint64(2), st.Commit, "got commit %d, want 2", st.Commit)
	})
}

func TestNodePropose(t *testing.T) {
	t.Run("the proposal is persisted and committed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			require.NoError(t, h.n.Propose(context.Background(), []byte("foo")))
			h.drain()
			var persisted []string
			for _, rd := range h.readies {
				for _, e := range rd.Entries {
					if e.Type == pb.EntryNormal && len(e.Data) > 0 {
						persisted = append(persisted, string(e.Data))
					}
				}
			}
			assert.Equal(t, []string{"foo"}, persisted, "got persisted %q, want [foo]", persisted)
			assert.Equal(t, []string{"foo"}, h.appliedData(), "got applied %q, want [foo]", h.appliedData())
		})
	})
	t.Run("the error of stepping the proposal is returned", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := nodeTestConfig(1, NewMemoryStorage())
			c.DisableProposalForwarding = true
			h := startTestNode(t, c, []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
			h.drain()
			h.followLeader(2, 2)
			err := h.n.Propose(context.Background(), []byte("foo"))
			assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want %v", err, ErrProposalDropped)
		})
	})
	t.Run("a follower forwards the proposal to its leader", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
			h.drain()
			h.followLeader(2, 2)
			require.NoError(t, h.n.Propose(context.Background(), []byte("foo")))
			h.drain()
			forwarded := h.messagesOfType(pb.MsgProp)
			require.Len(t, forwarded, 1, "got %v, want one MsgProp", forwarded)
			assert.Equal(t, uint64(2), forwarded[0].To, "got To %x, want 2", forwarded[0].To)
			assert.Equal(t, "foo", string(forwarded[0].Entries[0].Data), "forwarded data: got %q, want foo", string(forwarded[0].Entries[0].Data))
		})
	})
	t.Run("without a leader Propose waits until the context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
			h.drain()
			ctx, cancel := context.WithCancel(context.Background())
			w := goCall(func() error { return h.n.Propose(ctx, []byte("foo")) })
			synctest.Wait()
			_, done := w.result()
			require.False(t, done, "Propose returned without a leader, want it to wait")
			cancel()
			synctest.Wait()
			err, done := w.result()
			require.True(t, done, "Propose still blocked after its context ended")
			assert.ErrorIs(t, err, context.Canceled, "got %v, want %v", err, context.Canceled)
		})
	})
	t.Run("a waiting proposal goes through once a leader is known", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
			h.drain()
			w := goCall(func() error { return h.n.Propose(context.Background(), []byte("foo")) })
			synctest.Wait()
			_, done := w.result()
			require.False(t, done, "Propose returned without a leader, want it to wait")
			h.followLeader(2, 2)
			err, done := w.result()
			require.True(t, done, "Propose still blocked with a leader known")
			assert.NoError(t, err)
		})
	})
}

func TestNodeReadIndex(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSingleLeader(t)
		commit := h.n.Status().Commit
		require.NoError(t, h.n.ReadIndex(context.Background(), []byte("req-1")))
		h.drain()
		var got []ReadState
		for _, rd := range h.readies {
			got = append(got, rd.ReadStates...)
		}
		want := []ReadState{{Index: commit, RequestCtx: []byte("req-1")}}
		assert.Equal(t, want, got, "got %v, want %v", got, want)
	})
}

func TestNodeStepIgnoresLocalMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
		h.drain()
		before := h.n.Status()
		for typ := range pb.MessageType(numMessageTypes) {
			if !IsLocalMsg(typ) {
				continue
			}
			m := pb.Message{Type: typ, From: 2, To: 1, Term: before.Term}
			err := h.n.Step(context.Background(), m)
			assert.NoError(t, err, "%v: got %v, want nil", typ, err)
		}
		h.drain()
		after := h.n.Status()
		assert.Equal(t, before.BasicStatus, after.BasicStatus, "got %v, want the status unchanged %v", after.BasicStatus, before.BasicStatus)
		assert.Empty(t, h.messages(), "got messages %v, want none", h.messages())
		// The same MsgHup through the node's own API does start an election.
		require.NoError(t, h.n.Campaign(context.Background()))
		h.drain()
		assert.Greater(t, h.n.Status().Term, before.Term, "Campaign did not start an election")
	})
}

func TestNodeTick(t *testing.T) {
	// newIdleNode returns a node of a three-voter cluster whose goroutine is
	// not running, so nothing drains its tick buffer, and the buffer its own
	// log lines go to.
	newIdleNode := func(t *testing.T) (*node, *bytes.Buffer) {
		// NB: the configuration comes from a snapshot rather than
		// Bootstrap, whose conf changes would stay unapplied (nothing
		// handles Readies here) and so forbid campaigning.
		s := NewMemoryStorage()
		snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}
		require.NoError(t, s.ApplySnapshot(snap))
		c := nodeTestConfig(1, s)
		rn, err := NewRawNode(c)
		require.NoError(t, err)
		// Only the node's own lines go to buf; the RawNode keeps the
		// discarding logger it was created with.
		logger, buf := newBufferLogger()
		c.Logger = logger
		return newNode(rn, c), buf
	}
	t.Run("ticks beyond the buffer are dropped with a warning", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n, buf := newIdleNode(t)
			for range tickBufferSize {
				n.Tick()
			}
			require.Equal(t, tickBufferSize, len(n.tickc), "got %d ticks buffered, want %d", len(n.tickc), tickBufferSize)
			require.Empty(t, buf.String(), "got log %q before the buffer was full, want nothing", buf.String())
			n.Tick()
			assert.Equal(t, tickBufferSize, len(n.tickc), "got %d ticks buffered, want %d", len(n.tickc), tickBufferSize)
			assert.True(t, strings.HasPrefix(buf.String(), "WARN: raft.node: 1 dropped a tick"), "got log %q", buf.String())
		})
	})
	t.Run("the node consumes buffered ticks", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n, _ := newIdleNode(t)
			for range tickBufferSize {
				n.Tick()
			}
			go n.run()
			t.Cleanup(n.Stop)
			synctest.Wait()
			assert.Equal(t, 0, len(n.tickc), "got %d ticks left, want 0", len(n.tickc))
			// 128 ticks are more than an election timeout: the follower
			// without a leader has started an election.
			st := n.Status()
			assert.Equal(t, StateCandidate, st.RaftState, "got %v, want %v", st.RaftState, StateCandidate)
		})
	})
}

func TestNodeForgetLeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
		h.drain()
		h.followLeader(2, 2)
		require.NoError(t, h.n.ForgetLeader(context.Background()))
		h.drain()
		st := h.n.Status()
		assert.Equal(t, None, st.Lead, "got leader %x, want none", st.Lead)
		assert.Equal(t, uint64(2), st.Term, "got term %d, want 2 (forgetting is not campaigning)", st.Term)
	})
}

func TestNodeTransferLeadershipForwardedByFollower(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
		h.drain()
		h.followLeader(2, 2)
		h.n.TransferLeadership(context.Background(), 2, 3)
		h.drain()
		got := h.messagesOfType(pb.MsgTransferLeader)
		require.Len(t, got, 1, "got %v, want one MsgTransferLeader", got)
		assert.Equal(t, uint64(2), got[0].To, "got To %x, want the leader 2", got[0].To)
		assert.Equal(t, uint64(3), got[0].From, "got From %x, want the transferee 3", got[0].From)
	})
}

func TestNodeReportUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
		h.drain()
		require.NoError(t, h.n.Campaign(context.Background()))
		h.drain()
		term := h.n.Status().Term
		vote := pb.Message{Type: pb.MsgVoteResp, From: 2, To: 1, Term: term}
		require.NoError(t, h.n.Step(context.Background(), vote))
		h.drain()
		st := h.n.Status()
		require.Equal(t, StateLeader, st.RaftState, "got %v, want leader after a quorum of votes", st.RaftState)
		ack := pb.Message{Type: pb.MsgAppResp, From: 2, To: 1, Term: term, Index: st.Progress[1].Match}
		require.NoError(t, h.n.Step(context.Background(), ack))
		h.drain()
		require.Equal(t, tracker.StateReplicate, h.n.Status().Progress[2].State, "follower 2 should replicate after acking")

		h.n.ReportUnreachable(2)
		h.drain()
		got := h.n.Status().Progress[2].State
		assert.Equal(t, tracker.StateProbe, got, "got %v, want %v", got, tracker.StateProbe)
	})
}

// BenchmarkNodePropose proposes 128-byte entries to a one-voter cluster
// through Node, with an application goroutine persisting each Ready into a
// MemoryStorage. Per proposal it counts what the caller side allocates (the
// proposal's entry) plus its share of the Readies.
func BenchmarkNodePropose(b *testing.B) {
	s := NewMemoryStorage()
	n := StartNode(nodeTestConfig(1, s), []Peer{{ID: 1}})
	defer n.Stop()
	leading := make(chan struct{})
	go func() {
		elected, campaigned := false, false
		for rd := range n.Ready() {
			if !IsEmptyHardState(rd.HardState) {
				_ = s.SetHardState(rd.HardState)
			}
			_ = s.Append(rd.Entries)
			for _, e := range rd.CommittedEntries {
				if e.Type == pb.EntryConfChange {
					var cc pb.ConfChange
					_ = cc.Unmarshal(e.Data)
					n.ApplyConfChange(cc)
				}
			}
			if !elected && rd.SoftState != nil && rd.SoftState.RaftState == StateLeader {
				elected = true
				close(leading)
			}
			n.Advance()
			if !campaigned {
				// NB: only once the bootstrap configuration is applied;
				// a node with unapplied conf changes refuses to campaign.
				campaigned = true
				_ = n.Campaign(context.Background())
			}
		}
	}()
	<-leading
	ctx := context.Background()
	data := make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		if err := n.Propose(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}
