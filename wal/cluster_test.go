package wal_test

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal"
	"github.com/quorate/raft/wal/vfs/faultfs"
)

// clusterNode is one peer of a simulated cluster: a RawNode on a Store on
// its own in-memory file system, and a state machine that lists the
// payloads it applied. The state machine survives a crash only through the
// store's snapshot.
type clusterNode struct {
	node  // the examples' host: RawNode, Store and state machine
	id    uint64
	fs    *faultfs.FS
	async bool
}

type cluster struct {
	t     *testing.T
	rng   *rand.Rand
	nodes map[uint64]*clusterNode
	net   []pb.Message
	// committed records, for every applied index, the entry applied there,
	// to check that all peers apply the same one.
	committed map[uint64]string
	// crashes and restores count the crashes and the snapshots received.
	crashes, restores int
}

var silent = &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}

const clusterDir = "/raft"

func (c *cluster) start(id uint64, bootstrap bool) {
	n := c.nodes[id]
	s, err := wal.Open(clusterDir, wal.Options{FS: n.fs, SegmentBytes: wal.MinSegmentBytes, CacheBytes: 1 << 10})
	if err != nil {
		c.t.Fatalf("node %d: Open: %v", id, err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		c.t.Fatalf("node %d: Snapshot: %v", id, err)
	}
	n.store, n.applied, n.index, n.cs = s, nil, snap.Metadata.Index, snap.Metadata.ConfState
	if len(snap.Data) > 0 {
		n.applied = strings.Split(string(snap.Data), ",")
	}
	n.rn, err = raft.NewRawNode(&raft.Config{
		ID: id, ElectionTick: 10, HeartbeatTick: 1, Storage: s, Applied: n.index,
		MaxSizePerMsg: 4096, MaxInflightMsgs: 16, PreVote: true,
		AsyncStorageWrites: n.async, Logger: silent,
		// NB: seeded from the run's randomness, so that a seed replays.
		RandomSource: rand.NewPCG(c.rng.Uint64(), uint64(id)),
	})
	if err != nil {
		c.t.Fatalf("node %d: NewRawNode: %v", id, err)
	}
	if bootstrap {
		if err := n.rn.Bootstrap([]raft.Peer{{ID: 1}, {ID: 2}, {ID: 3}}); err != nil {
			c.t.Fatalf("node %d: Bootstrap: %v", id, err)
		}
	}
}

func (c *cluster) apply(n *clusterNode, ents []pb.Entry) {
	for i, e := range ents {
		if e.Index != n.index+1 {
			c.t.Fatalf("node %d: applying entry %d after %d", n.id, e.Index, n.index)
		}
		key := fmt.Sprintf("%d/%x", e.Type, e.Data)
		if prev, ok := c.committed[e.Index]; ok && prev != key {
			c.t.Fatalf("node %d applied %s at index %d, another peer applied %s", n.id, key, e.Index, prev)
		}
		c.committed[e.Index] = key
		n.node.apply(ents[i : i+1])
	}
	// Snapshot now and then, keeping a few entries for slow followers.
	if n.index > 0 && c.rng.IntN(8) == 0 {
		snap, _ := n.store.Snapshot()
		if n.index > snap.Metadata.Index {
			if _, err := n.store.CreateSnapshot(n.index, &n.cs, []byte(strings.Join(n.applied, ","))); err != nil {
				c.t.Fatalf("node %d: CreateSnapshot(%d): %v", n.id, n.index, err)
			}
			first, _ := n.store.FirstIndex()
			if n.index > first+3 {
				if err := n.store.Compact(n.index - 3); err != nil {
					c.t.Fatalf("node %d: Compact: %v", n.id, err)
				}
			}
		}
	}
}

func (c *cluster) restoreSnapshot(n *clusterNode, snap pb.Snapshot) {
	if raft.IsEmptySnap(snap) {
		return
	}
	c.restores++
	n.index, n.cs, n.applied = snap.Metadata.Index, snap.Metadata.ConfState, nil
	if len(snap.Data) > 0 {
		n.applied = strings.Split(string(snap.Data), ",")
	}
}

// deliver steps the messages addressed to n and queues the others.
func (c *cluster) deliver(n *clusterNode, msgs []pb.Message) {
	for _, m := range msgs {
		if m.To == n.id {
			if err := n.rn.Step(m); err != nil {
				c.t.Fatalf("node %d: stepping %v: %v", n.id, m.Type, err)
			}
			continue
		}
		c.net = append(c.net, m)
	}
}

func (c *cluster) handleReady(n *clusterNode) {
	rd := n.rn.Ready()
	if !n.async {
		if err := n.store.Save(rd); err != nil {
			c.t.Fatalf("node %d: Save: %v", n.id, err)
		}
		c.net = append(c.net, rd.Messages...)
		c.restoreSnapshot(n, rd.Snapshot)
		c.apply(n, rd.CommittedEntries)
		n.rn.Advance(rd)
		return
	}
	for _, m := range rd.Messages {
		switch m.To {
		case raft.LocalAppendThread:
			resps, err := n.store.SaveAppends(m)
			if err != nil {
				c.t.Fatalf("node %d: SaveAppends: %v", n.id, err)
			}
			// A snapshot from the leader replaces the state machine once
			// it is durable.
			if m.Snapshot != nil {
				c.restoreSnapshot(n, *m.Snapshot)
			}
			c.deliver(n, resps)
		case raft.LocalApplyThread:
			c.apply(n, m.Entries)
			c.deliver(n, m.Responses)
		default:
			c.net = append(c.net, m)
		}
	}
}

// TestClusterWithCrashes runs three peers on Stores over fault-injecting
// file systems, with lossy message delivery and machine crashes that lose
// unsynced writes, and checks that no two peers ever apply different
// entries at one index, that the stores accept everything raft asks them
// to persist, and that the cluster makes progress once the faults stop.
func TestClusterWithCrashes(t *testing.T) {
	for _, async := range []bool{false, true} {
		restores := 0
		defer func() {
			// Whether a peer falls behind the compacted log depends on
			// the seed; across seeds some must.
			if restores == 0 {
				t.Errorf("async=%v: got no snapshot received in any run, want some", async)
			}
		}()
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("async=%v/seed=%d", async, seed), func(t *testing.T) {
				c := &cluster{t: t, rng: rand.New(rand.NewPCG(seed, 11)), nodes: map[uint64]*clusterNode{}, committed: map[uint64]string{}}
				for id := uint64(1); id <= 3; id++ {
					c.nodes[id] = &clusterNode{id: id, fs: faultfs.New(), async: async}
					c.start(id, true)
				}
				proposals := 0
				step := func(faulty bool) {
					n := c.nodes[1+c.rng.Uint64N(3)]
					switch r := c.rng.IntN(100); {
					case r < 30:
						n.rn.Tick()
					case r < 75 && len(c.net) > 0:
						k := c.rng.IntN(len(c.net))
						m := c.net[k]
						c.net = append(c.net[:k], c.net[k+1:]...)
						if faulty && c.rng.IntN(10) == 0 {
							break // dropped
						}
						_ = c.nodes[m.To].rn.Step(m)
					case r < 85:
						proposals++
						_ = n.rn.Propose([]byte(fmt.Sprintf("p%d", proposals)))
					case r < 87 && faulty:
						c.crashes++
						n.fs.Crash(faultfs.RandomPlan(c.rng))
						c.start(n.id, false)
					}
					for _, n := range c.nodes {
						for n.rn.HasReady() {
							c.handleReady(n)
						}
					}
				}
				for range 3000 {
					step(true)
				}
				before := len(c.committed)
				for range 3000 {
					step(false)
				}
				if len(c.committed) <= before {
					t.Fatalf("got no entry committed in 3000 steps without faults (%d before)", before)
				}
				t.Logf("%d entries committed, %d proposals, %d crashes, %d snapshots received", len(c.committed), proposals, c.crashes, c.restores)
				if c.crashes == 0 {
					t.Fatalf("got no crash, want some")
				}
				restores += c.restores
			})
		}
	}
}
