package raft_test

// Benchmarks through the exported API only, on the harness of
// harness_test.go as export_test.go exports it (synchronous storage
// writes, messages delivered in-process), and the test of the design
// target "a leader sends one MsgApp per follower per Ready rather than one
// per proposal".
//
// Run with: go test -run '^$' -bench . -benchmem
//
// Allocation counts include the harness, which reuses its message queue and
// keeps no applied entries, and MemoryStorage, whose appends are amortised;
// slices handed out in Ready are the documented source of per-Ready
// allocations.

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// benchEntrySize is the payload size of every proposed entry.
const benchEntrySize = 128

// compactEvery bounds the log a benchmark keeps in memory: once every node
// has applied that many entries past its first index, storages are compacted.
const compactEvery = 8192

// newBenchCluster returns size voters, with server 1 elected leader and all
// followers caught up, that keep no record of applied entries.
func newBenchCluster(b *testing.B, size int, opts ...nodeOption) *raft.TestNetwork {
	c := newBootNetwork(b, size, opts...)
	for _, id := range c.IDs() {
		c.Node(id).ForgetApplied()
	}
	c.Campaign(1)
	if got := c.Node(1).BasicStatus().RaftState; got != raft.StateLeader {
		b.Fatalf("server 1: got %v, want %v", got, raft.StateLeader)
	}
	return c
}

// maybeCompact compacts every storage up to the index all nodes applied,
// as an application taking snapshots would, once enough has piled up.
func maybeCompact(b *testing.B, nodes []*raft.TestNode) {
	applied := uint64(math.MaxUint64)
	for _, n := range nodes {
		applied = min(applied, n.AppliedIndex())
	}
	for _, n := range nodes {
		first, err := n.Storage().FirstIndex()
		if err != nil {
			b.Fatal(err)
		}
		if applied >= first+compactEvery {
			if err := n.Storage().Compact(applied); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// nodesOf returns the peers of c, in the order of their IDs.
func nodesOf(c *raft.TestNetwork) []*raft.TestNode {
	var nodes []*raft.TestNode
	for _, id := range c.IDs() {
		nodes = append(nodes, c.Node(id))
	}
	return nodes
}

// perEntryMetrics reports time and allocations per entry, measuring
// allocations itself because testing reports them per op only.
type perEntryMetrics struct {
	b       *testing.B
	mallocs uint64
}

func startPerEntryMetrics(b *testing.B) perEntryMetrics {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportAllocs()
	b.ResetTimer()
	return perEntryMetrics{b: b, mallocs: ms.Mallocs}
}

func (m perEntryMetrics) stop(entries int) {
	m.b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	elapsed := m.b.Elapsed()
	m.b.ReportMetric(float64(elapsed.Nanoseconds())/float64(entries), "ns/entry")
	m.b.ReportMetric(float64(entries)/elapsed.Seconds(), "entries/s")
	m.b.ReportMetric(float64(ms.Mallocs-m.mallocs)/float64(entries), "allocs/entry")
}

// BenchmarkPropose proposes 128-byte entries at the leader of one or three
// voters, either one per Ready or 256 per Ready, and runs the cluster until
// every server has applied them. One op is one such round.
func BenchmarkPropose(b *testing.B) {
	for _, voters := range []int{1, 3} {
		for _, perReady := range []int{1, 256} {
			b.Run(fmt.Sprintf("voters=%d/entries-per-ready=%d", voters, perReady), func(b *testing.B) {
				c := newBenchCluster(b, voters)
				leader, nodes := c.Node(1), nodesOf(c)
				data := make([]byte, benchEntrySize)
				start := leader.AppliedIndex()
				m := startPerEntryMetrics(b)
				for range b.N {
					for range perReady {
						if err := leader.Propose(data); err != nil {
							b.Fatal(err)
						}
					}
					c.Flush()
					maybeCompact(b, nodes)
				}
				m.stop(b.N * perReady)
				for _, n := range nodes {
					if got, want := n.AppliedIndex()-start, uint64(b.N*perReady); got != want {
						b.Fatalf("server %d applied: got %d entries, want %d", n.ID(), got, want)
					}
				}
			})
		}
	}
}

// BenchmarkReadIndex issues one ReadIndex per op on three voters under
// ReadOnlySafe, at the leader or at a follower (which forwards it), and runs
// the cluster until the read state is handed out.
func BenchmarkReadIndex(b *testing.B) {
	for _, at := range []uint64{1, 2} {
		name := map[uint64]string{1: "at-leader", 2: "at-follower"}[at]
		b.Run(name, func(b *testing.B) {
			c := newBenchCluster(b, 3)
			n := c.Node(at)
			ctx := []byte("read")
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				n.ReadIndex(ctx)
				c.Flush()
			}
			b.StopTimer()
			if n.ReadCount() != b.N {
				b.Fatalf("read states: got %d, want %d", n.ReadCount(), b.N)
			}
		})
	}
}

// BenchmarkTick ticks an idle leader or follower of three voters. "idle"
// means no timeout falls due (the timeouts are set out of reach), which
// measures Tick itself and should allocate nothing; "heartbeat" makes every
// tick a heartbeat round: for the leader, a tick and the heartbeats and
// responses it causes; for a follower, a leader's heartbeat, a tick and the
// response.
func BenchmarkTick(b *testing.B) {
	far := withConfig(func(c *raft.Config) {
		c.ElectionTick = math.MaxInt32
		c.HeartbeatTick = math.MaxInt32 - 1
	})
	b.Run("leader/idle", func(b *testing.B) {
		c := newBenchCluster(b, 3, far)
		leader := c.Node(1)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			leader.Tick()
			if leader.HasReady() {
				b.Fatal("an idle leader has a Ready")
			}
		}
	})
	b.Run("leader/heartbeat", func(b *testing.B) {
		c := newBenchCluster(b, 3)
		leader := c.Node(1)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			leader.Tick()
			c.Flush()
		}
	})
	b.Run("follower/idle", func(b *testing.B) {
		c := newBenchCluster(b, 3, far)
		follower := c.Node(2)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			follower.Tick()
			if follower.HasReady() {
				b.Fatal("an idle follower has a Ready")
			}
		}
	})
	b.Run("follower/heartbeat", func(b *testing.B) {
		c := newBenchCluster(b, 3)
		follower := c.Node(2)
		st := follower.BasicStatus()
		beat := pb.Message{Type: pb.MsgHeartbeat, From: 1, To: 2, Term: st.Term, Commit: st.Commit}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := follower.Step(beat); err != nil {
				b.Fatal(err)
			}
			follower.Tick()
			for follower.HasReady() {
				follower.HandleReady()
			}
		}
		b.StopTimer()
		if got := follower.BasicStatus(); got.RaftState != raft.StateFollower || got.Lead != 1 {
			b.Fatalf("follower: got %v led by %d, want %v led by 1", got.RaftState, got.Lead, raft.StateFollower)
		}
	})
}

// TestLeaderSendsOneAppendPerFollowerPerReady checks the design target that
// a leader sends one MsgApp per follower per Ready rather than one per
// proposal. 256 proposals of 128 bytes reach a leader of three voters whose
// followers are in replicate state, with no Ready in between; the next
// Ready then holds, per follower, as few MsgApps as MaxSizePerMsg and
// MaxInflightMsgs permit:
//
//	min(MaxInflightMsgs, ceil(256 / max(1, floor(MaxSizePerMsg / entry size))))
//
// which is one when the entries fit in one message.
func TestLeaderSendsOneAppendPerFollowerPerReady(t *testing.T) {
	const proposals = 256
	entrySize := (&pb.Entry{Term: 2, Index: 1000, Data: make([]byte, benchEntrySize)}).Size()
	for _, tt := range []struct {
		name        string
		maxSize     uint64
		maxInflight int
	}{
		{"entries fit in one message", 1 << 20, 256},
		{"MaxSizePerMsg of 4KiB", 4 << 10, 256},
		{"MaxSizePerMsg of 4KiB and 4 inflight", 4 << 10, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			perMsg := max(1, int(tt.maxSize)/entrySize)
			wantMax := min(tt.maxInflight, (proposals+perMsg-1)/perMsg)
			c := newBootNetwork(t, 3, withConfig(func(c *raft.Config) {
				c.MaxSizePerMsg = tt.maxSize
				c.MaxInflightMsgs = tt.maxInflight
			}))
			c.Campaign(1)
			leader := c.Node(1)
			for _, id := range []uint64{2, 3} {
				require.Equal(t, tracker.StateReplicate, leader.Status().Progress[id].State, "state of follower %d", id)
			}
			data := make([]byte, benchEntrySize)
			for range proposals {
				require.NoError(t, leader.Propose(data))
			}
			rd := leader.Ready()
			count := make(map[uint64]int)
			carried := make(map[uint64]int)
			for _, m := range ofType(rd.Messages, pb.MsgApp) {
				count[m.To]++
				carried[m.To] += len(m.Entries)
			}
			for _, id := range []uint64{2, 3} {
				assert.LessOrEqual(t, count[id], wantMax,
					"MsgApps to %d in one Ready: got %d, want at most %d", id, count[id], wantMax)
				if wantMax*perMsg >= proposals {
					assert.Equal(t, proposals, carried[id], "entries sent to %d", id)
				}
			}
		})
	}
}
