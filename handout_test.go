package raft

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// kept is something the library handed to the application, or took from
// it, held on to as the application may: the slice as handed over, and a
// copy of its content at that moment.
type kept struct {
	what        string
	msgs, copy  []pb.Message
	ents, ents0 []pb.Entry
}

// keepMsgs records msgs and a deep copy of their content.
func keepMsgs(what string, msgs []pb.Message) kept {
	c := make([]pb.Message, len(msgs))
	for i, m := range msgs {
		m.Entries = slices.Clone(m.Entries)
		m.Responses = slices.Clone(m.Responses)
		c[i] = m
	}
	return kept{what: what, msgs: msgs, copy: c}
}

// unnumbered returns msgs as compared: deep copies in which the entries
// of proposals have no term or index. NB: a leader numbers the entries of
// a proposal it is handed in place (as etcd-raft's does), and in process
// those are the entries of the forwarding follower's Ready.
func unnumbered(msgs []pb.Message) []pb.Message {
	out := make([]pb.Message, len(msgs))
	for i, m := range msgs {
		m.Entries = slices.Clone(m.Entries)
		if m.Type == pb.MsgProp {
			for k := range m.Entries {
				m.Entries[k].Term, m.Entries[k].Index = 0, 0
			}
		}
		out[i] = m
	}
	return out
}

// handoutGroup is three RawNodes of one group run on one goroutine, with a
// lossy, duplicating, reordering in-memory network that hands the very
// message values (and their Entries arrays) from peer to peer, as an
// in-process transport does.
type handoutGroup struct {
	t     *testing.T
	rng   *rand.Rand
	async bool
	nodes map[uint64]*RawNode
	st    map[uint64]*MemoryStorage
	net   []pb.Message
	kept  []kept
}

func newHandoutGroup(t *testing.T, seed uint64, async bool) *handoutGroup {
	g := &handoutGroup{t: t, rng: rand.New(rand.NewPCG(seed, seed^0xabc)), async: async,
		nodes: map[uint64]*RawNode{}, st: map[uint64]*MemoryStorage{}}
	peers := []Peer{{ID: 1}, {ID: 2}, {ID: 3}}
	for _, p := range peers {
		st := NewMemoryStorage()
		rn, err := NewRawNode(&Config{ID: p.ID, ElectionTick: 10, HeartbeatTick: 1, Storage: st,
			MaxSizePerMsg: 256, MaxInflightMsgs: 8, AsyncStorageWrites: async, Logger: discardLogger,
			RandomSource: rand.NewPCG(seed, p.ID)})
		require.NoError(t, err)
		require.NoError(t, rn.Bootstrap(peers))
		g.nodes[p.ID], g.st[p.ID] = rn, st
	}
	return g
}

// persist writes what a Ready or a MsgStorageAppend asks to be durable.
func (g *handoutGroup) persist(id uint64, hs pb.HardState, ents []pb.Entry, snap pb.Snapshot) {
	st := g.st[id]
	if !IsEmptySnap(snap) {
		require.NoError(g.t, st.ApplySnapshot(snap))
	}
	require.NoError(g.t, st.Append(ents))
	if !IsEmptyHardState(hs) {
		require.NoError(g.t, st.SetHardState(hs))
	}
}

// compact snapshots and compacts id's storage at its applied index now and
// then, so that lagging peers are sent snapshots and storage regrows.
func (g *handoutGroup) compact(id uint64, applied uint64) {
	st := g.st[id]
	first, _ := st.FirstIndex()
	if applied < first+8 || g.rng.IntN(4) != 0 {
		return
	}
	cs := g.nodes[id].raft.conf.config()
	_, err := st.CreateSnapshot(applied, ptrConfState(confState(cs)), []byte("snap"))
	if err != nil {
		return
	}
	require.NoError(g.t, st.Compact(applied))
}

func ptrConfState(cs pb.ConfState) *pb.ConfState { return &cs }

// handle processes one Ready of id.
func (g *handoutGroup) handle(id uint64) {
	rn := g.nodes[id]
	rd := rn.Ready()
	g.kept = append(g.kept, keepMsgs(fmt.Sprintf("Ready of %d", id), rd.Messages))
	if len(rd.Entries) > 0 {
		g.kept = append(g.kept, kept{what: fmt.Sprintf("Ready entries of %d", id), ents: rd.Entries, ents0: slices.Clone(rd.Entries)})
	}
	if g.rng.IntN(3) == 0 {
		// The application adds a message of its own and keeps the result.
		extended := append(rd.Messages, pb.Message{Type: pb.MsgHeartbeat, To: 99, Commit: g.rng.Uint64()})
		g.kept = append(g.kept, keepMsgs("extended Ready", extended))
	}
	if !g.async {
		g.persist(id, rd.HardState, rd.Entries, rd.Snapshot)
	}
	for _, m := range rd.Messages {
		switch m.To {
		case LocalAppendThread:
			var snap pb.Snapshot
			if m.Snapshot != nil {
				snap = *m.Snapshot
			}
			g.persist(id, pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}, m.Entries, snap)
			for _, resp := range m.Responses {
				g.routeResponse(resp)
			}
		case LocalApplyThread:
			if n := len(m.Entries); n > 0 {
				g.compact(id, m.Entries[n-1].Index)
			}
			for _, resp := range m.Responses {
				g.routeResponse(resp)
			}
		default:
			g.net = append(g.net, m)
		}
	}
	if !g.async {
		if n := len(rd.CommittedEntries); n > 0 {
			g.compact(id, rd.CommittedEntries[n-1].Index)
		}
		rn.Advance(rd)
	}
}

// routeResponse steps a response the storage threads deliver to their
// peer itself at once, and puts one to another peer on the network. NB:
// only responses are told apart by their addresses: a message of a Ready
// may be addressed to the peer it comes from, a proposal forwarded twice
// (the second follower keeps the first one's From), and goes over the
// network like any other.
func (g *handoutGroup) routeResponse(m pb.Message) {
	if m.To == m.From || m.From == LocalAppendThread || m.From == LocalApplyThread {
		require.NoError(g.t, g.nodes[m.To].Step(m), "stepping %s", DescribeMessage(m, nil))
		return
	}
	g.net = append(g.net, m)
}

// deliver takes a random message off the network and steps it into its
// peer, perhaps twice, perhaps not at all.
func (g *handoutGroup) deliver() {
	i := g.rng.IntN(len(g.net))
	m := g.net[i]
	g.net = slices.Delete(g.net, i, i+1)
	if g.rng.IntN(10) == 0 {
		return
	}
	n := 1 + g.rng.IntN(2)
	for range n {
		if m.Type == pb.MsgApp && len(m.Entries) > 0 {
			g.kept = append(g.kept, kept{what: fmt.Sprintf("MsgApp entries stepped into %d", m.To),
				ents: m.Entries, ents0: slices.Clone(m.Entries)})
		}
		_ = g.nodes[m.To].Step(m)
	}
}

func (g *handoutGroup) run(rounds int) {
	for range rounds {
		id := uint64(1 + g.rng.IntN(3))
		switch r := g.rng.IntN(20); {
		case r < 6:
			ents := make([]pb.Entry, 1+g.rng.IntN(4))
			for i := range ents {
				ents[i].Data = make([]byte, 1+g.rng.IntN(100))
			}
			_ = g.nodes[id].Step(pb.Message{Type: pb.MsgProp, Entries: ents})
		case r < 10:
			g.nodes[id].Tick()
		case r == 10:
			_ = g.nodes[id].Campaign()
		case r == 11:
			g.nodes[id].ReadIndex([]byte{byte(r)})
		}
		for id := uint64(1); id <= 3; id++ {
			if g.nodes[id].HasReady() {
				g.handle(id)
			}
		}
		for k := g.rng.IntN(4); k > 0 && len(g.net) > 0; k-- {
			g.deliver()
		}
	}
}

// TestHandedOutSlicesStayIntact runs several groups at once, every Ready's
// messages and entries and every MsgApp's entries kept as an application
// or an in-process transport might keep them, and checks that nothing the
// library handed out, or was handed, changes afterwards: neither a
// Ready's messages carved from the shared slabs, nor the entries a
// follower keeps from a leader's append, nor the array a proposal came in.
func TestHandedOutSlicesStayIntact(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(fmt.Sprintf("async=%v", async), func(t *testing.T) {
			runHandoutGroups(t, 4, 3000, async, nil)
		})
	}
	// NB: more peers than shelves, so that peers on different goroutines
	// share shelves, and collections all along, so that the shelves' sweep
	// runs between any two steps of an outbox.
	for _, async := range []bool{false, true} {
		t.Run(fmt.Sprintf("peers sharing shelves while collections sweep them, async=%v", async), func(t *testing.T) {
			var collections atomic.Int64
			runHandoutGroups(t, 2*msgShelfCount, 600, async, func(stop <-chan struct{}) {
				for range 5000 {
					select {
					case <-stop:
						return
					default:
					}
					runtime.GC()
					collections.Add(1)
				}
			})
			assert.Positive(t, collections.Load(), "got no collection while the groups ran")
		})
	}
}

// runHandoutGroups runs groups handoutGroups of rounds rounds each on a
// goroutine of its own, with background, if not nil, on another until
// they are done, then checks that each made progress and that nothing it
// kept changed.
func runHandoutGroups(t *testing.T, groups, rounds int, async bool, background func(stop <-chan struct{})) {
	gs := make([]*handoutGroup, groups)
	var wg, bg sync.WaitGroup
	stop := make(chan struct{})
	if background != nil {
		bg.Go(func() { background(stop) })
	}
	for i := range gs {
		gs[i] = newHandoutGroup(t, uint64(i+1), async)
		wg.Go(func() { gs[i].run(rounds) })
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	for i, g := range gs {
		var committed uint64
		for _, rn := range g.nodes {
			committed = max(committed, rn.raft.log.committed())
		}
		assert.Greater(t, committed, uint64(rounds/60), "group %d: got commit index %d, want progress", i, committed)
		for _, k := range g.kept {
			if k.msgs != nil && !assert.Equal(t, unnumbered(k.copy), unnumbered(k.msgs), "group %d: got %s changed after it was handed out", i, k.what) {
				return
			}
			if k.ents != nil && !assert.Equal(t, k.ents0, k.ents, "group %d: got %s changed after it was handed out", i, k.what) {
				return
			}
		}
	}
}
