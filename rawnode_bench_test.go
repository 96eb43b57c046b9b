package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

// benchCluster is a cluster of RawNodes over MemoryStorage whose Ready
// loops deliver messages directly, with no copying beyond what an
// application must do.
type benchCluster struct {
	nodes   []*RawNode
	storage []*MemoryStorage
	queue   []pb.Message
}

func newBenchCluster(b *testing.B, n int) *benchCluster {
	c := &benchCluster{}
	ids := idsUpTo(n)
	for _, id := range ids {
		s := newConfStorage(ids)
		cfg := newTestConfig(id, s)
		cfg.MaxSizePerMsg = 1 << 20
		cfg.MaxInflightMsgs = 256
		rn, err := NewRawNode(cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.nodes = append(c.nodes, rn)
		c.storage = append(c.storage, s)
	}
	if err := c.nodes[0].Campaign(); err != nil {
		b.Fatal(err)
	}
	c.settle()
	if c.nodes[0].raft.state != StateLeader {
		b.Fatalf("got %v, want leader", c.nodes[0].raft.state)
	}
	return c
}

// cycle runs one Ready cycle on node i and queues its messages.
func (c *benchCluster) cycle(i int) bool {
	rn := c.nodes[i]
	if !rn.HasReady() {
		return false
	}
	rd := rn.Ready()
	s := c.storage[i]
	if !IsEmptyHardState(rd.HardState) {
		_ = s.SetHardState(rd.HardState)
	}
	_ = s.Append(rd.Entries)
	c.queue = append(c.queue, rd.Messages...)
	rn.Advance(rd)
	return true
}

// settle runs every node and delivers messages until nothing is left.
func (c *benchCluster) settle() {
	for {
		busy := false
		for i := range c.nodes {
			busy = c.cycle(i) || busy
		}
		if len(c.queue) > 0 {
			busy = true
			for j := range c.queue {
				_ = c.nodes[c.queue[j].To-1].Step(c.queue[j])
			}
			clear(c.queue)
			c.queue = c.queue[:0]
		}
		if !busy {
			return
		}
	}
}

func benchmarkPropose(b *testing.B, voters, perReady int) {
	c := newBenchCluster(b, voters)
	data := make([]byte, 128)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += perReady {
		for j := 0; j < perReady && i+j < b.N; j++ {
			if err := c.nodes[0].Propose(data); err != nil {
				b.Fatal(err)
			}
		}
		c.settle()
	}
}

func BenchmarkCoreProposeOneVoter(b *testing.B)               { benchmarkPropose(b, 1, 1) }
func BenchmarkCoreProposeOneVoter256PerReady(b *testing.B)    { benchmarkPropose(b, 1, 256) }
func BenchmarkCoreProposeThreeVoters(b *testing.B)            { benchmarkPropose(b, 3, 1) }
func BenchmarkCoreProposeThreeVoters256PerReady(b *testing.B) { benchmarkPropose(b, 3, 256) }

func BenchmarkCoreReadIndexThreeVoters(b *testing.B) {
	c := newBenchCluster(b, 3)
	ctx := []byte("read")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.nodes[0].ReadIndex(ctx)
		c.settle()
	}
}

func BenchmarkCoreTickIdleLeader(b *testing.B) {
	c := newBenchCluster(b, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.nodes[0].Tick()
		c.settle()
	}
}

func BenchmarkCoreTickIdleFollower(b *testing.B) {
	c := newBenchCluster(b, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.nodes[1].Tick()
		c.nodes[1].raft.electionElapsed = 0 // keep it from campaigning
		c.settle()
	}
}
