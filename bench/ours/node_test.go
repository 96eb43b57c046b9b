package suite

// The Node cluster and its benchmarks: voters 1..n, each a Node with a
// goroutine playing its application loop, messages handed straight to the
// recipient's Step. Nothing ticks, so nothing happens but what a benchmark
// asks for.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// nodeCluster is a group of voters 1..n driven through Node.
type nodeCluster struct {
	tb    testing.TB
	async bool
	// nodes[i] has id i+1 and persists to storages[i].
	nodes    []raft.Node
	storages []*raft.MemoryStorage
	// done tells the application loops to return; wg waits for them.
	done chan struct{}
	wg   sync.WaitGroup

	// mu guards the fields below; changed is signalled whenever one of
	// them changes.
	mu      sync.Mutex
	changed *sync.Cond
	// applied[i] is the index of the last entry node i+1 applied.
	// Invariant: entries are applied in index order without gaps.
	applied []uint64
	// reads[i] counts the ReadStates node i+1 handed out.
	reads []int
	// data[i] holds the payloads node i+1 applied, when record is set.
	record bool
	data   [][][]byte
	// err is the first failure of an application loop.
	err error
}

// newNodeCluster returns a group of the given number of voters in which
// node 1 has won an election and every node has applied its empty entry.
// The nodes are stopped when the test or benchmark ends.
func newNodeCluster(tb testing.TB, voters int, async, record bool) *nodeCluster {
	tb.Helper()
	c := &nodeCluster{
		tb: tb, async: async, record: record, done: make(chan struct{}),
		applied: make([]uint64, voters), reads: make([]int, voters), data: make([][][]byte, voters),
	}
	c.changed = sync.NewCond(&c.mu)
	for i := range voters {
		s, err := bootStorage(voters)
		if err != nil {
			tb.Fatalf("node %d: boot storage: %v", i+1, err)
		}
		c.storages = append(c.storages, s)
		c.nodes = append(c.nodes, raft.RestartNode(newConfig(uint64(i+1), s, liveTicks, async)))
		c.applied[i] = bootIndex
	}
	for i := range c.nodes {
		c.wg.Add(1)
		go c.run(i)
	}
	tb.Cleanup(c.stop)
	if err := c.nodes[0].Campaign(context.Background()); err != nil {
		tb.Fatalf("node 1: Campaign: %v", err)
	}
	c.waitApplied(bootIndex + 1)
	if got := c.nodes[0].Status().RaftState; got != raft.StateLeader {
		tb.Fatalf("node 1 after its campaign: got %v, want %v", got, raft.StateLeader)
	}
	return c
}

// stop stops the application loops and the nodes.
func (c *nodeCluster) stop() {
	close(c.done)
	for _, n := range c.nodes {
		n.Stop()
	}
	c.wg.Wait()
}

// run is the application loop of node i.
func (c *nodeCluster) run(i int) {
	defer c.wg.Done()
	n := c.nodes[i]
	for {
		select {
		case <-c.done:
			return
		case rd := <-n.Ready():
			if err := c.handleReady(i, rd); err != nil {
				select {
				case <-c.done:
				default:
					c.fail(fmt.Errorf("node %d: %w", i+1, err))
				}
				return
			}
		}
	}
}

// handleReady does what rd asks of node i: persist, send, apply, and
// Advance unless writes are asynchronous.
func (c *nodeCluster) handleReady(i int, rd raft.Ready) error {
	n, s, id := c.nodes[i], c.storages[i], uint64(i+1)
	if len(rd.ReadStates) > 0 {
		c.mu.Lock()
		c.reads[i] += len(rd.ReadStates)
		c.changed.Broadcast()
		c.mu.Unlock()
	}
	if !c.async {
		if err := persist(s, rd.HardState, rd.Entries, &rd.Snapshot); err != nil {
			return err
		}
		if err := c.send(rd.Messages); err != nil {
			return err
		}
		if err := c.apply(i, rd.CommittedEntries); err != nil {
			return err
		}
		n.Advance()
		return nil
	}
	for _, m := range rd.Messages {
		var err error
		switch m.To {
		case raft.LocalAppendThread:
			err = persist(s, pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}, m.Entries, m.Snapshot)
		case raft.LocalApplyThread:
			err = c.apply(i, m.Entries)
		case id:
			err = errors.New("got a message to itself")
		default:
			err = c.send([]pb.Message{m})
		}
		if err == nil && raft.IsLocalMsgTarget(m.To) {
			err = c.send(m.Responses)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// send steps every message into its recipient, in order.
func (c *nodeCluster) send(msgs []pb.Message) error {
	for _, m := range msgs {
		if m.To == 0 || m.To > uint64(len(c.nodes)) {
			return fmt.Errorf("message %v: got recipient %d, want one of 1..%d", m.Type, m.To, len(c.nodes))
		}
		if err := c.nodes[m.To-1].Step(context.Background(), m); err != nil {
			return fmt.Errorf("stepping %v into %d: %w", m.Type, m.To, err)
		}
	}
	return nil
}

// apply records that node i applied ents.
func (c *nodeCluster) apply(i int, ents []pb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if first := ents[0].Index; first != c.applied[i]+1 {
		return fmt.Errorf("applying index %d after %d: got a gap, want consecutive entries", first, c.applied[i])
	}
	c.applied[i] = ents[len(ents)-1].Index
	if c.record {
		for _, e := range ents {
			if e.Type == pb.EntryNormal && len(e.Data) > 0 {
				c.data[i] = append(c.data[i], e.Data)
			}
		}
	}
	c.changed.Broadcast()
	return nil
}

func (c *nodeCluster) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
	c.changed.Broadcast()
}

// waitApplied waits until every node has applied index, and returns the
// lowest index applied.
func (c *nodeCluster) waitApplied(index uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && slices.Min(c.applied) < index {
		c.changed.Wait()
	}
	if c.err != nil {
		c.tb.Fatal(c.err)
	}
	return slices.Min(c.applied)
}

// waitReads waits until node i has handed out n ReadStates in all.
func (c *nodeCluster) waitReads(i, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && c.reads[i] < n {
		c.changed.Wait()
	}
	if c.err != nil {
		c.tb.Fatal(c.err)
	}
}

// maybeCompact compacts every storage to applied, which every node has
// applied, once compactEvery entries have piled up.
func (c *nodeCluster) maybeCompact(applied uint64) {
	for _, s := range c.storages {
		first, err := s.FirstIndex()
		if err != nil {
			c.tb.Fatal(err)
		}
		if applied >= first+compactEvery {
			if err := s.Compact(applied); err != nil {
				c.tb.Fatal(err)
			}
		}
	}
}

// BenchmarkNodeProposeCycle calls Node.Propose batch times at the leader and
// waits until every node has applied the entries; each node's application
// loop runs on its own goroutine.
func BenchmarkNodeProposeCycle(b *testing.B) {
	benchNodeProposeCycle(b, axesGrid, false)
}

// BenchmarkNodeProposeCycleAsync is BenchmarkNodeProposeCycle with
// AsyncStorageWrites.
func BenchmarkNodeProposeCycleAsync(b *testing.B) {
	benchNodeProposeCycle(b, grid([]int{3}, []int{128}, []int{1, 16, 256}), true)
}

func benchNodeProposeCycle(b *testing.B, shapes []shape, async bool) {
	for _, s := range shapes {
		b.Run(s.name(), func(b *testing.B) {
			c := newNodeCluster(b, s.voters, async, false)
			ctx := context.Background()
			leader := c.nodes[0]
			data := make([]byte, s.entry)
			next := uint64(bootIndex + 1)
			b.ReportAllocs()
			for b.Loop() {
				for range s.batch {
					if err := leader.Propose(ctx, data); err != nil {
						b.Fatalf("Propose: %v", err)
					}
				}
				next += uint64(s.batch)
				c.maybeCompact(c.waitApplied(next))
			}
		})
	}
}

// BenchmarkNodeReadIndex issues one ReadIndex (ReadOnlySafe) per op at the
// leader of three Nodes and waits for its ReadState.
func BenchmarkNodeReadIndex(b *testing.B) {
	b.Run("at=leader/voters=3", func(b *testing.B) {
		c := newNodeCluster(b, 3, false, false)
		ctx := context.Background()
		rctx := []byte("read")
		reads := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := c.nodes[0].ReadIndex(ctx, rctx); err != nil {
				b.Fatalf("ReadIndex: %v", err)
			}
			reads++
			c.waitReads(0, reads)
		}
	})
}

// TestNodeCluster checks that the Node harness replicates what it is given,
// with and without AsyncStorageWrites: each node applies every payload
// once, in order, and a read request is answered.
func TestNodeCluster(t *testing.T) {
	for _, async := range []bool{false, true} {
		for _, voters := range []int{1, 3} {
			t.Run(fmt.Sprintf("async=%t/voters=%d", async, voters), func(t *testing.T) {
				c := newNodeCluster(t, voters, async, true)
				var want [][]byte
				for i := range 20 {
					d := []byte{byte('a' + i)}
					want = append(want, d)
					if err := c.nodes[0].Propose(context.Background(), d); err != nil {
						t.Fatalf("Propose: got %v, want nil", err)
					}
				}
				c.waitApplied(bootIndex + 1 + uint64(len(want)))
				c.mu.Lock()
				for i, got := range c.data {
					if !slices.EqualFunc(got, want, slices.Equal) {
						t.Errorf("node %d applied: got %q, want %q", i+1, got, want)
					}
				}
				c.mu.Unlock()
				if err := c.nodes[0].ReadIndex(context.Background(), []byte("ctx")); err != nil {
					t.Fatalf("ReadIndex: got %v, want nil", err)
				}
				c.waitReads(0, 1)
			})
		}
	}
}
