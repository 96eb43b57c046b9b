package rafttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing/synctest"
	"time"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// Link is how messages travel along one direction between two nodes.
type Link struct {
	// DropRate is the probability, in [0, 1], that a message is lost.
	DropRate float64
	// MinDelay and MaxDelay bound the number of steps a message spends in
	// flight; each message draws its delay uniformly from
	// [MinDelay, MaxDelay], so messages on one link may be reordered.
	// Invariant: 1 <= MinDelay <= MaxDelay (the zero Link is normalised to
	// a delay of exactly one step).
	MinDelay, MaxDelay int
}

// NetworkConfig configures NewNetwork.
type NetworkConfig struct {
	// Seed seeds the randomness of the links: the same seed and the same
	// calls give the same run.
	Seed uint64
	// Voters are the IDs of the initial members; every node is started with
	// raft.StartNode and all of them as peers.
	Voters []uint64
	// Link is the initial behaviour of every link; SetLink overrides it
	// per direction.
	Link Link
	// OnConfig, if set, adjusts each node's Config before it starts. The
	// defaults are ElectionTick 10, HeartbeatTick 1, MaxSizePerMsg 1 MiB,
	// MaxInflightMsgs 256 and a Logger that discards everything.
	// AsyncStorageWrites is not supported.
	OnConfig func(*raft.Config)
}

// Network runs a group of raft.Nodes, each with its own goroutine as an
// application would run them, over simulated links that can lose, delay,
// reorder and partition messages.
//
// Time is explicit: Step delivers the messages due, ticks every node once
// and then lets every node handle its Readies until the group is quiet.
// Determinism comes from two things: the links draw from a seeded source,
// and Step calls synctest.Wait to reach the point where every node's
// goroutine is idle before it looks at what they produced. A Network must
// therefore be created and used inside a testing/synctest bubble
// (synctest.Test), from the bubble's main goroutine; no wall-clock time
// passes and nothing sleeps.
type Network struct {
	rng   *rand.Rand
	ids   []uint64 // sorted
	nodes map[uint64]*NetworkNode
	link  Link
	links map[linkKey]Link
	// cut holds the directions a partition has severed; a message along
	// one is lost and reported unreachable to its sender.
	cut map[linkKey]bool
	// inFlight holds the messages sent and not yet due, in send order.
	inFlight []envelope
	now      int
}

type linkKey struct{ from, to uint64 }

// envelope is a message in flight and the step at which it arrives.
type envelope struct {
	due int
	m   pb.Message
}

// NetworkNode is one member of a Network.
type NetworkNode struct {
	raft.Node
	ID      uint64
	Storage *raft.MemoryStorage
	// Applied holds the data of the normal entries the node has applied,
	// in log order, leaving out the empty entries a new leader appends.
	Applied []string
}

// NewNetwork starts one node per ID in cfg.Voters. It must be called inside
// a synctest bubble; call Stop when done.
func NewNetwork(cfg NetworkConfig) *Network {
	nw := &Network{
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)),
		ids:   slices.Sorted(slices.Values(cfg.Voters)),
		nodes: make(map[uint64]*NetworkNode),
		link:  normalizeLink(cfg.Link),
		links: make(map[linkKey]Link),
		cut:   make(map[linkKey]bool),
	}
	peers := make([]raft.Peer, len(nw.ids))
	for i, id := range nw.ids {
		peers[i] = raft.Peer{ID: id}
	}
	for _, id := range nw.ids {
		storage := raft.NewMemoryStorage()
		c := &raft.Config{
			ID:              id,
			ElectionTick:    10,
			HeartbeatTick:   1,
			Storage:         storage,
			MaxSizePerMsg:   1 << 20,
			MaxInflightMsgs: 256,
			Logger:          logger{out: &output{level: levelNone}},
			RandomSource:    rand.NewPCG(cfg.Seed^id, id),
		}
		if cfg.OnConfig != nil {
			cfg.OnConfig(c)
		}
		nw.nodes[id] = &NetworkNode{Node: raft.StartNode(c, peers), ID: id, Storage: storage}
	}
	nw.settle()
	return nw
}

func normalizeLink(l Link) Link {
	l.MinDelay = max(l.MinDelay, 1)
	l.MaxDelay = max(l.MaxDelay, l.MinDelay)
	return l
}

// Node returns the node with the given ID, or nil.
func (nw *Network) Node(id uint64) *NetworkNode { return nw.nodes[id] }

// IDs returns the IDs of the nodes in ascending order.
func (nw *Network) IDs() []uint64 { return slices.Clone(nw.ids) }

// Now returns the number of steps taken so far.
func (nw *Network) Now() int { return nw.now }

// SetLink sets how messages from node from to node to travel.
func (nw *Network) SetLink(from, to uint64, l Link) {
	nw.links[linkKey{from, to}] = normalizeLink(l)
}

// Partition splits the nodes into the given groups: messages between
// nodes of different groups are lost (and reported unreachable to their
// sender) until Heal. Nodes not listed form one more group.
func (nw *Network) Partition(groups ...[]uint64) {
	group := make(map[uint64]int)
	for i, g := range groups {
		for _, id := range g {
			group[id] = i + 1
		}
	}
	for _, a := range nw.ids {
		for _, b := range nw.ids {
			if a != b && group[a] != group[b] {
				nw.cut[linkKey{a, b}] = true
			}
		}
	}
}

// Isolate cuts node id off from every other node until Heal.
func (nw *Network) Isolate(id uint64) {
	nw.Partition([]uint64{id})
}

// Heal removes every partition. Link loss and delay stay as they are.
func (nw *Network) Heal() {
	clear(nw.cut)
}

// Step advances time by one step: the messages due are delivered, each
// node ticks once, and the nodes handle their Readies until none has one.
func (nw *Network) Step() {
	nw.now++
	var due []envelope
	nw.inFlight = slices.DeleteFunc(nw.inFlight, func(e envelope) bool {
		if e.due <= nw.now {
			due = append(due, e)
			return true
		}
		return false
	})
	for _, e := range due {
		nw.deliver(e.m)
	}
	for _, id := range nw.ids {
		nw.nodes[id].Tick()
	}
	nw.settle()
}

// RunUntil steps until cond holds, for at most maxSteps steps, and reports
// whether cond held. cond is checked before the first step too.
func (nw *Network) RunUntil(maxSteps int, cond func() bool) bool {
	for range maxSteps {
		if cond() {
			return true
		}
		nw.Step()
	}
	return cond()
}

// deliver hands m to its destination. A snapshot's delivery is reported to
// its sender, as a transport must.
func (nw *Network) deliver(m pb.Message) {
	n := nw.nodes[m.To]
	// NB: Step blocks a forwarded proposal until the receiver knows a
	// leader; the deadline (in the bubble's fake time) turns that into a
	// lost message instead of a stuck network.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := n.Step(ctx, m)
	if m.Type == pb.MsgSnap {
		status := raft.SnapshotFinish
		if err != nil {
			status = raft.SnapshotFailure
		}
		nw.nodes[m.From].ReportSnapshot(m.To, status)
	}
}

// send puts m on its link, or loses it.
func (nw *Network) send(m pb.Message) {
	key := linkKey{m.From, m.To}
	if _, ok := nw.nodes[m.To]; !ok || nw.cut[key] {
		from := nw.nodes[m.From]
		from.ReportUnreachable(m.To)
		if m.Type == pb.MsgSnap {
			from.ReportSnapshot(m.To, raft.SnapshotFailure)
		}
		return
	}
	l, ok := nw.links[key]
	if !ok {
		l = nw.link
	}
	if l.DropRate > 0 && nw.rng.Float64() < l.DropRate {
		if m.Type == pb.MsgSnap {
			nw.nodes[m.From].ReportSnapshot(m.To, raft.SnapshotFailure)
		}
		return
	}
	delay := l.MinDelay + nw.rng.IntN(l.MaxDelay-l.MinDelay+1)
	nw.inFlight = append(nw.inFlight, envelope{due: nw.now + delay, m: m})
}

// settle lets every node handle its Readies, in ID order, until no node
// has one left.
func (nw *Network) settle() {
	for busy := true; busy; {
		busy = false
		for _, id := range nw.ids {
			synctest.Wait()
			n := nw.nodes[id]
			select {
			case rd := <-n.Ready():
				nw.handleReady(n, rd)
				busy = true
			default:
			}
		}
	}
	synctest.Wait()
}

// handleReady does what an application does with a Ready: persist, send,
// apply, advance.
func (nw *Network) handleReady(n *NetworkNode, rd raft.Ready) {
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.Storage.ApplySnapshot(rd.Snapshot); err != nil {
			panic(fmt.Sprintf("node %d: applying snapshot: %v", n.ID, err))
		}
	}
	if err := n.Storage.Append(rd.Entries); err != nil {
		panic(fmt.Sprintf("node %d: appending entries: %v", n.ID, err))
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := n.Storage.SetHardState(rd.HardState); err != nil {
			panic(fmt.Sprintf("node %d: setting HardState: %v", n.ID, err))
		}
	}
	for _, m := range rd.Messages {
		nw.send(m)
	}
	for _, e := range rd.CommittedEntries {
		nw.apply(n, e)
	}
	n.Advance()
}

func (nw *Network) apply(n *NetworkNode, e pb.Entry) {
	switch e.Type {
	case pb.EntryNormal:
		if len(e.Data) > 0 {
			n.Applied = append(n.Applied, string(e.Data))
		}
	case pb.EntryConfChange:
		var cc pb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			panic(fmt.Sprintf("node %d: decoding conf change at index %d: %v", n.ID, e.Index, err))
		}
		n.ApplyConfChange(cc)
	case pb.EntryConfChangeV2:
		var cc pb.ConfChangeV2
		if err := cc.Unmarshal(e.Data); err != nil {
			panic(fmt.Sprintf("node %d: decoding conf change at index %d: %v", n.ID, e.Index, err))
		}
		n.ApplyConfChange(cc)
	}
}

// Propose proposes data on node id and returns the error of stepping the
// proposal. A node that knows no leader holds the proposal back; after a
// second of the bubble's fake time Propose gives up with
// context.DeadlineExceeded.
func (nw *Network) Propose(id uint64, data string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := nw.nodes[id].Propose(ctx, []byte(data))
	nw.settle()
	return err
}

// Leader returns the node that the majority of nodes, leader included,
// currently follow, or None if there is no such node.
func (nw *Network) Leader() uint64 {
	votes := make(map[uint64]int)
	for _, id := range nw.ids {
		st := nw.nodes[id].Status()
		if st.Lead != raft.None {
			votes[st.Lead]++
		}
	}
	for _, id := range nw.ids {
		if votes[id] > len(nw.ids)/2 && nw.nodes[id].Status().RaftState == raft.StateLeader {
			return id
		}
	}
	return raft.None
}

// Stop stops every node.
func (nw *Network) Stop() {
	for _, id := range nw.ids {
		nw.nodes[id].Stop()
	}
}
