package suite

// The RawNode cluster: voters 1..n in one goroutine, each a RawNode over a
// MemoryStorage, with the application loop played synchronously and
// messages delivered in-process through a FIFO queue. Nothing is timed here;
// the benchmarks decide what one op is.

import (
	"fmt"
	"slices"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

const (
	// compactEvery bounds the log kept in memory: once every replica has
	// applied that many entries past its storage's first index, every
	// storage is compacted to what all have applied.
	compactEvery = 4096
	// maxStabilizeRounds bounds cluster.stabilize, so that a livelock fails
	// the benchmark instead of hanging it.
	maxStabilizeRounds = 10000
)

// clusterOptions selects how the application loop treats a cluster.
type clusterOptions struct {
	ticks ticks
	// async turns on Config.AsyncStorageWrites: writes and applications
	// arrive as MsgStorageAppend and MsgStorageApply and complete at once,
	// in order, within the Ready that carried them.
	async bool
	// wire marshals every message between replicas and delivers the
	// unmarshalled copy, as a transport would.
	wire bool
	// record keeps the payload of every applied entry, for tests.
	record bool
	// applyConfChanges has every replica apply the configuration changes
	// among its committed entries (ApplyConfChange); without it they are
	// counted only. Messages to members that no replica runs (added by
	// such changes) are dropped.
	applyConfChanges bool
	// tune, if set, changes every replica's Config before it is built.
	tune func(*raft.Config)
}

// replica is one RawNode with its storage and what the application loop
// knows about it.
type replica struct {
	id      uint64
	rn      *raft.RawNode
	storage *raft.MemoryStorage
	// applied is the index of the last entry applied. Invariant: entries
	// are applied in index order without gaps (apply fails otherwise).
	applied uint64
	// reads counts the ReadStates handed out.
	reads int
	// record enables data, the payloads of the non-empty entries applied,
	// in order.
	record bool
	data   [][]byte
	// confChanges enables confState, the configuration returned by the
	// last ApplyConfChange.
	confChanges bool
	confState   pb.ConfState
}

// apply hands ents to the state machine, which only counts them.
func (r *replica) apply(tb testing.TB, ents []pb.Entry) {
	if len(ents) == 0 {
		return
	}
	if first := ents[0].Index; first != r.applied+1 {
		tb.Fatalf("replica %d: applying index %d after %d: got a gap, want consecutive entries", r.id, first, r.applied)
	}
	r.applied = ents[len(ents)-1].Index
	if r.confChanges {
		r.applyConfChanges(tb, ents)
	}
	if r.record {
		for _, e := range ents {
			if e.Type == pb.EntryNormal && len(e.Data) > 0 {
				r.data = append(r.data, e.Data)
			}
		}
	}
}

// applyConfChanges applies the configuration changes among ents.
func (r *replica) applyConfChanges(tb testing.TB, ents []pb.Entry) {
	for _, e := range ents {
		var cc pb.ConfChangeI
		switch e.Type {
		case pb.EntryConfChange:
			var v1 pb.ConfChange
			if err := v1.Unmarshal(e.Data); err != nil {
				tb.Fatalf("replica %d: entry %d: %v", r.id, e.Index, err)
			}
			cc = v1
		case pb.EntryConfChangeV2:
			var v2 pb.ConfChangeV2
			if err := v2.Unmarshal(e.Data); err != nil {
				tb.Fatalf("replica %d: entry %d: %v", r.id, e.Index, err)
			}
			cc = v2
		default:
			continue
		}
		r.confState = *r.rn.ApplyConfChange(cc)
	}
}

// cluster is a group of voters 1..n driven through RawNode.
type cluster struct {
	tb   testing.TB
	opts clusterOptions
	// replicas[i] has id i+1.
	replicas []*replica
	// queue holds the messages sent and not yet delivered, in send order;
	// spare is the buffer deliver swaps in. Both are reused.
	queue, spare []pb.Message
	// buf is the reused marshalling buffer of opts.wire.
	buf []byte
}

// newCluster returns a group of the given number of voters in which replica
// 1 has won an election and every replica has applied the leader's empty
// entry.
func newCluster(tb testing.TB, voters int, opts clusterOptions) *cluster {
	tb.Helper()
	c := &cluster{tb: tb, opts: opts}
	for i := range voters {
		id := uint64(i + 1)
		s, err := bootStorage(voters)
		if err != nil {
			tb.Fatalf("replica %d: boot storage: %v", id, err)
		}
		cfg := newConfig(id, s, opts.ticks, opts.async)
		if opts.tune != nil {
			opts.tune(cfg)
		}
		rn, err := raft.NewRawNode(cfg)
		if err != nil {
			tb.Fatalf("replica %d: NewRawNode: %v", id, err)
		}
		c.replicas = append(c.replicas, &replica{id: id, rn: rn, storage: s, applied: bootIndex, record: opts.record,
			confChanges: opts.applyConfChanges})
	}
	if err := c.leader().rn.Campaign(); err != nil {
		tb.Fatalf("replica 1: Campaign: %v", err)
	}
	c.stabilize()
	if got := c.leader().rn.BasicStatus().RaftState; got != raft.StateLeader {
		tb.Fatalf("replica 1 after its campaign: got %v, want %v", got, raft.StateLeader)
	}
	c.checkCaughtUp()
	return c
}

// leader returns replica 1, which newCluster makes leader.
func (c *cluster) leader() *replica { return c.replicas[0] }

// stabilize runs the application loop of every replica and delivers their
// messages until no replica has a Ready and no message is in flight.
func (c *cluster) stabilize() {
	for range maxStabilizeRounds {
		busy := false
		for _, r := range c.replicas {
			for r.rn.HasReady() {
				c.handleReady(r)
				busy = true
			}
		}
		if !busy && len(c.queue) == 0 {
			return
		}
		c.deliver()
	}
	c.tb.Fatalf("cluster still busy after %d rounds", maxStabilizeRounds)
}

// handleReady runs one iteration of r's application loop. Without
// AsyncStorageWrites it persists, queues the messages, applies and calls
// Advance; with it, it does the work the local messages ask for, in order.
func (c *cluster) handleReady(r *replica) {
	rd := r.rn.Ready()
	r.reads += len(rd.ReadStates)
	if c.opts.async {
		for _, m := range rd.Messages {
			switch m.To {
			case raft.LocalAppendThread:
				c.check(persist(r.storage, pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}, m.Entries, m.Snapshot))
				c.respond(r, m.Responses)
			case raft.LocalApplyThread:
				r.apply(c.tb, m.Entries)
				c.respond(r, m.Responses)
			default:
				c.queue = append(c.queue, m)
			}
		}
		return
	}
	c.check(persist(r.storage, rd.HardState, rd.Entries, &rd.Snapshot))
	c.queue = append(c.queue, rd.Messages...)
	r.apply(c.tb, rd.CommittedEntries)
	r.rn.Advance(rd)
}

// respond delivers the responses of a completed local write: to r itself at
// once, to peers through the queue.
func (c *cluster) respond(r *replica, resps []pb.Message) {
	for _, m := range resps {
		if m.To == r.id {
			if err := r.rn.Step(m); err != nil {
				c.tb.Fatalf("replica %d: stepping its own %v: %v", r.id, m.Type, err)
			}
			continue
		}
		c.queue = append(c.queue, m)
	}
}

// deliver steps every queued message into its recipient, in order.
// Messages sent meanwhile wait for the next call.
func (c *cluster) deliver() {
	msgs := c.queue
	c.queue = c.spare[:0]
	for _, m := range msgs {
		if c.opts.applyConfChanges && m.To > uint64(len(c.replicas)) {
			continue
		}
		if m.To == 0 || m.To > uint64(len(c.replicas)) {
			c.tb.Fatalf("message %v from %d: got recipient %d, want one of 1..%d", m.Type, m.From, m.To, len(c.replicas))
		}
		if c.opts.wire {
			m = c.roundTrip(m)
		}
		r := c.replicas[m.To-1]
		if err := r.rn.Step(m); err != nil {
			c.tb.Fatalf("replica %d: stepping %v from %d: %v", r.id, m.Type, m.From, err)
		}
	}
	// NB: clearing drops the references the delivered messages hold, so a
	// reused buffer keeps no entries alive.
	clear(msgs)
	c.spare = msgs[:0]
}

// roundTrip returns the message a receiver decodes from m's encoding.
func (c *cluster) roundTrip(m pb.Message) pb.Message {
	size := m.Size()
	if cap(c.buf) < size {
		c.buf = make([]byte, size)
	}
	n, err := m.MarshalTo(c.buf[:size])
	if err != nil {
		c.tb.Fatalf("marshalling %v: %v", m.Type, err)
	}
	var out pb.Message
	if err := out.Unmarshal(c.buf[:n]); err != nil {
		c.tb.Fatalf("unmarshalling %v: %v", m.Type, err)
	}
	return out
}

// drop discards the queued messages, for benchmarks that study one replica.
func (c *cluster) drop() {
	clear(c.queue)
	c.queue = c.queue[:0]
}

// maybeCompact compacts every storage to the index all replicas applied
// once compactEvery entries have piled up, as snapshots would.
func (c *cluster) maybeCompact() {
	applied := c.replicas[0].applied
	for _, r := range c.replicas {
		applied = min(applied, r.applied)
	}
	for _, r := range c.replicas {
		first, err := r.storage.FirstIndex()
		c.check(err)
		if applied >= first+compactEvery {
			c.check(r.storage.Compact(applied))
		}
	}
}

// checkCaughtUp fails unless every replica has applied the leader's whole
// log.
func (c *cluster) checkCaughtUp() {
	c.tb.Helper()
	last, err := c.leader().storage.LastIndex()
	c.check(err)
	for _, r := range c.replicas {
		if r.applied != last {
			c.tb.Fatalf("replica %d: got applied %d, want the leader's last index %d", r.id, r.applied, last)
		}
	}
}

// checkProposed fails unless the leader applied exactly want entries after
// index from, and every replica caught up with it.
func (c *cluster) checkProposed(from uint64, want int) {
	c.tb.Helper()
	if got := c.leader().applied - from; got != uint64(want) {
		c.tb.Fatalf("leader: got %d entries applied, want %d", got, want)
	}
	c.checkCaughtUp()
}

func (c *cluster) check(err error) {
	if err != nil {
		c.tb.Helper()
		c.tb.Fatal(err)
	}
}

// TestCluster checks that the harness replicates what it is given, in every
// mode the benchmarks use: each replica applies every payload once, in
// order, and read requests are answered where they were made.
func TestCluster(t *testing.T) {
	modes := []struct {
		name string
		opts clusterOptions
	}{
		{"in-process", clusterOptions{ticks: liveTicks}},
		{"wire", clusterOptions{ticks: liveTicks, wire: true}},
		{"async", clusterOptions{ticks: liveTicks, async: true}},
	}
	for _, mode := range modes {
		for _, voters := range []int{1, 3, 5} {
			t.Run(fmt.Sprintf("%s/voters=%d", mode.name, voters), func(t *testing.T) {
				opts := mode.opts
				opts.record = true
				c := newCluster(t, voters, opts)
				var want [][]byte
				for i := range 20 {
					want = append(want, []byte{byte('a' + i)})
				}
				for _, d := range want[:10] {
					if err := c.leader().rn.Propose(d); err != nil {
						t.Fatalf("Propose: got %v, want nil", err)
					}
				}
				c.stabilize()
				ents := make([]pb.Entry, 10)
				for i := range ents {
					ents[i].Data = want[10+i]
				}
				if err := c.leader().rn.Step(pb.Message{Type: pb.MsgProp, From: 1, Entries: ents}); err != nil {
					t.Fatalf("Step(MsgProp): got %v, want nil", err)
				}
				c.stabilize()
				for _, r := range c.replicas {
					if !slices.EqualFunc(r.data, want, slices.Equal) {
						t.Errorf("replica %d applied: got %q, want %q", r.id, r.data, want)
					}
				}
				for _, r := range c.replicas {
					r.rn.ReadIndex([]byte("ctx"))
					c.stabilize()
					if r.reads != 1 {
						t.Errorf("replica %d: got %d read states, want 1", r.id, r.reads)
					}
				}
			})
		}
	}
}
