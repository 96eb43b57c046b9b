// Command cluster shows quorate/raft doing its job: three replicas of a tiny
// key-value store, each a raft.RawNode over a raft.MemoryStorage, connected
// by an in-process network that can cut a node off.
//
// It elects a leader, replicates writes, partitions the leader away so that
// the majority elects a new one and keeps committing, heals the partition
// and checks that every replica ends with the same data. It exits with a
// non-zero status if any of that does not happen.
//
//	cd examples && go run ./cluster
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// replica is one member of the cluster: the consensus state machine, its
// durable storage and the application state built from committed entries.
type replica struct {
	id      uint64
	node    *raft.RawNode
	storage *raft.MemoryStorage
	kv      map[string]string
}

// cluster holds the replicas and the messages in flight between them.
type cluster struct {
	replicas []*replica
	inflight []raftpb.Message
	isolated uint64 // messages to or from this node are dropped; 0 = none
	ticks    int
}

func newCluster(n int) (*cluster, error) {
	c := &cluster{}
	var peers []raft.Peer
	for id := uint64(1); id <= uint64(n); id++ {
		peers = append(peers, raft.Peer{ID: id})
	}
	for id := uint64(1); id <= uint64(n); id++ {
		storage := raft.NewMemoryStorage()
		node, err := raft.NewRawNode(&raft.Config{
			ID:              id,
			ElectionTick:    10,
			HeartbeatTick:   1,
			Storage:         storage,
			MaxSizePerMsg:   1 << 20,
			MaxInflightMsgs: 256,
			PreVote:         true,
			CheckQuorum:     true,
			// raft logs every state change; pass nil (the default logger)
			// to see them. The demo prints only the story it tells.
			Logger: &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
		})
		if err != nil {
			return nil, err
		}
		if err := node.Bootstrap(peers); err != nil {
			return nil, err
		}
		c.replicas = append(c.replicas, &replica{id: id, node: node, storage: storage, kv: map[string]string{}})
	}
	return c, nil
}

// process handles every replica's Ready once, in the order the Ready
// contract asks for: persist, then send, then apply, then Advance.
func (c *cluster) process() (busy bool) {
	for _, r := range c.replicas {
		if !r.node.HasReady() {
			continue
		}
		busy = true
		rd := r.node.Ready()
		if !raft.IsEmptySnap(rd.Snapshot) {
			must(r.storage.ApplySnapshot(rd.Snapshot))
		}
		must(r.storage.Append(rd.Entries))
		if !raft.IsEmptyHardState(rd.HardState) {
			must(r.storage.SetHardState(rd.HardState))
		}
		c.inflight = append(c.inflight, rd.Messages...)
		for _, e := range rd.CommittedEntries {
			r.apply(e)
		}
		r.node.Advance(rd)
	}
	return busy
}

func (r *replica) apply(e raftpb.Entry) {
	switch e.Type {
	case raftpb.EntryNormal:
		if k, v, ok := strings.Cut(string(e.Data), "="); ok {
			r.kv[k] = v
		}
	case raftpb.EntryConfChange:
		var cc raftpb.ConfChange
		must(cc.Unmarshal(e.Data))
		r.node.ApplyConfChange(cc)
	case raftpb.EntryConfChangeV2:
		var cc raftpb.ConfChangeV2
		must(cc.Unmarshal(e.Data))
		r.node.ApplyConfChange(cc)
	}
}

// deliver hands every message in flight to its recipient, dropping those
// that cross the partition.
func (c *cluster) deliver() (busy bool) {
	msgs := c.inflight
	c.inflight = nil
	for _, m := range msgs {
		if c.isolated != 0 && (m.From == c.isolated || m.To == c.isolated) {
			continue
		}
		busy = true
		// Errors here only say that a message was stale or from an unknown
		// peer; the protocol copes with both.
		_ = c.replicas[m.To-1].node.Step(m)
	}
	return busy
}

// settle processes and delivers until nothing moves.
func (c *cluster) settle() {
	for c.process() || c.deliver() {
	}
}

// tick advances every replica's logical clock by one tick.
func (c *cluster) tick() {
	c.ticks++
	for _, r := range c.replicas {
		r.node.Tick()
	}
	c.settle()
}

// leader ticks until a replica outside the partition leads, and returns it.
func (c *cluster) leader() (*replica, error) {
	for range 500 {
		for _, r := range c.replicas {
			st := r.node.BasicStatus()
			if r.id != c.isolated && st.RaftState == raft.StateLeader && st.Lead == r.id {
				return r, nil
			}
		}
		c.tick()
	}
	return nil, fmt.Errorf("no leader after %d ticks", c.ticks)
}

func (c *cluster) put(leader *replica, key, value string) error {
	if err := leader.node.Propose([]byte(key + "=" + value)); err != nil {
		return fmt.Errorf("propose %s=%s: %w", key, value, err)
	}
	c.settle()
	fmt.Printf("  put %s=%s through node %d\n", key, value, leader.id)
	return nil
}

func (c *cluster) show() {
	for _, r := range c.replicas {
		st := r.node.BasicStatus()
		fmt.Printf("  node %d: %-16v term=%d commit=%d applied=%d  kv=%s\n",
			r.id, st.RaftState, st.Term, st.Commit, st.Applied, formatKV(r.kv))
	}
}

func formatKV(kv map[string]string) string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + kv[k])
	}
	b.WriteByte('}')
	return b.String()
}

func run() error {
	c, err := newCluster(3)
	if err != nil {
		return err
	}

	fmt.Println("1. Three replicas start as followers; the first to time out wins an election.")
	lead, err := c.leader()
	if err != nil {
		return err
	}
	fmt.Printf("  node %d leads term %d after %d ticks\n", lead.id, lead.node.BasicStatus().Term, c.ticks)

	fmt.Println("2. Writes go through the leader and are applied on every replica once committed.")
	for _, kv := range [][2]string{{"x", "1"}, {"y", "2"}, {"z", "3"}} {
		if err := c.put(lead, kv[0], kv[1]); err != nil {
			return err
		}
	}
	c.show()

	fmt.Printf("3. Node %d is cut off; the other two elect a new leader and keep committing.\n", lead.id)
	old := lead
	c.isolated = old.id
	start := c.ticks
	if lead, err = c.leader(); err != nil {
		return err
	}
	fmt.Printf("  node %d leads term %d, %d ticks after the partition\n",
		lead.id, lead.node.BasicStatus().Term, c.ticks-start)
	if err := c.put(lead, "x", "10"); err != nil {
		return err
	}
	c.show()

	fmt.Printf("4. The partition heals; node %d learns of the new term and catches up.\n", old.id)
	c.isolated = 0
	for range 3 * 10 {
		c.tick()
	}
	c.show()

	want := formatKV(lead.kv)
	for _, r := range c.replicas {
		if got := formatKV(r.kv); got != want {
			return fmt.Errorf("node %d holds %s, want %s", r.id, got, want)
		}
	}
	if st := old.node.BasicStatus(); st.RaftState != raft.StateFollower || st.Lead != lead.id {
		return fmt.Errorf("old leader %d is %v following %d, want follower of %d", old.id, st.RaftState, st.Lead, lead.id)
	}
	fmt.Printf("All 3 replicas agree: %s\n", want)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
