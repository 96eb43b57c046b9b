package wal_test

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal"
)

// node is a minimal host of one raft peer on a wal.Store: a state machine
// that collects the payloads of applied entries.
type node struct {
	rn      *raft.RawNode
	store   *wal.Store
	cs      pb.ConfState
	applied []string
	index   uint64 // last applied index
}

func startNode(dir string, async bool, applied uint64) (*node, error) {
	store, err := wal.Open(dir, wal.Options{})
	if err != nil {
		return nil, err
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID: 1, ElectionTick: 10, HeartbeatTick: 1,
		Storage:            store,
		Applied:            applied,
		MaxSizePerMsg:      1 << 20,
		MaxInflightMsgs:    256,
		AsyncStorageWrites: async,
		Logger:             &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	n := &node{rn: rn, store: store, index: applied}
	if last, _ := store.LastIndex(); last == 0 {
		// A brand new single-node cluster.
		if err := rn.Bootstrap([]raft.Peer{{ID: 1}}); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// apply applies committed entries to the state machine.
func (n *node) apply(ents []pb.Entry) {
	for _, e := range ents {
		switch e.Type {
		case pb.EntryNormal:
			if len(e.Data) > 0 {
				n.applied = append(n.applied, string(e.Data))
			}
		case pb.EntryConfChange:
			var cc pb.ConfChange
			if err := cc.Unmarshal(e.Data); err == nil {
				n.cs = *n.rn.ApplyConfChange(cc)
			}
		case pb.EntryConfChangeV2:
			var cc pb.ConfChangeV2
			if err := cc.Unmarshal(e.Data); err == nil {
				n.cs = *n.rn.ApplyConfChange(cc)
			}
		}
		n.index = e.Index
	}
}

// send would hand messages to the transport; a single-node cluster sends
// none.
func send(msgs []pb.Message) {
	for _, m := range msgs {
		fmt.Println("would send", m.Type, "to", m.To)
	}
}

// drain handles Readys with handle until there is none.
func (n *node) drain(handle func() error) {
	for n.rn.HasReady() {
		if err := handle(); err != nil {
			log.Fatal(err)
		}
	}
}

// handleReady is one turn of the synchronous Ready loop: persist (Save
// syncs when the Ready needs it), then send, then apply, then Advance.
func (n *node) handleReady() error {
	rd := n.rn.Ready()
	if err := n.store.Save(rd); err != nil {
		return err
	}
	send(rd.Messages)
	if !raft.IsEmptySnap(rd.Snapshot) {
		n.index = rd.Snapshot.Metadata.Index
		n.cs = rd.Snapshot.Metadata.ConfState
	}
	n.apply(rd.CommittedEntries)
	n.rn.Advance(rd)
	return nil
}

// This example runs a durable single-node cluster with the synchronous
// Ready loop, takes a snapshot and compacts the log, then restarts from the
// directory as after a crash.
func Example_readyLoop() {
	dir, err := os.MkdirTemp("", "wal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	n, err := startNode(dir, false, 0)
	if err != nil {
		log.Fatal(err)
	}
	// Apply the bootstrap configuration, then campaign.
	n.drain(n.handleReady)
	if err := n.rn.Campaign(); err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{"a", "b", "c"} {
		n.drain(n.handleReady)
		if err := n.rn.Propose([]byte(p)); err != nil {
			log.Fatal(err)
		}
	}
	n.drain(n.handleReady)
	fmt.Println("applied", n.applied, "up to index", n.index)

	// Snapshot the state machine at what it applied, and drop the log
	// before it but for a few entries, for slow followers.
	if _, err := n.store.CreateSnapshot(n.index, &n.cs, []byte(fmt.Sprint(n.applied))); err != nil {
		log.Fatal(err)
	}
	if err := n.store.Compact(n.index - 2); err != nil {
		log.Fatal(err)
	}
	// Everything Save, CreateSnapshot and Compact returned is durable:
	// closing is not needed for that, and a crash here loses nothing.
	if err := n.store.Close(); err != nil {
		log.Fatal(err)
	}

	n, err = startNode(dir, false, 0)
	if err != nil {
		log.Fatal(err)
	}
	hs, _, _ := n.store.InitialState()
	first, _ := n.store.FirstIndex()
	last, _ := n.store.LastIndex()
	snap, _ := n.store.Snapshot()
	fmt.Printf("restarted: entries [%d, %d], commit %d, term %d, snapshot at %d holding %s\n",
		first, last, hs.Commit, hs.Term, snap.Metadata.Index, snap.Data)
	n.store.Close()
	// Output:
	// applied [a b c] up to index 5
	// restarted: entries [4, 5], commit 5, term 2, snapshot at 5 holding [a b c]
}

// handleAsyncReady is one turn of a loop with Config.AsyncStorageWrites.
// The MsgStorageAppend goes to the store through SaveAppends, which
// returns the responses to deliver once the write is durable; the
// MsgStorageApply goes to the state machine. Here both run inline; a host
// would run them on an append goroutine and an apply goroutine fed in
// order, and the append goroutine may pass SaveAppends every message it
// has queued, for one fsync.
func (n *node) handleAsyncReady() error {
	rd := n.rn.Ready()
	for _, m := range rd.Messages {
		switch m.To {
		case raft.LocalAppendThread:
			resps, err := n.store.SaveAppends(m)
			if err != nil {
				return err
			}
			// A snapshot from the leader replaces the state machine.
			if m.Snapshot != nil && !raft.IsEmptySnap(*m.Snapshot) {
				n.index = m.Snapshot.Metadata.Index
				n.cs = m.Snapshot.Metadata.ConfState
			}
			if err := n.deliver(resps); err != nil {
				return err
			}
		case raft.LocalApplyThread:
			n.apply(m.Entries)
			if err := n.deliver(m.Responses); err != nil {
				return err
			}
		default:
			send([]pb.Message{m})
		}
	}
	return nil
}

// deliver steps the responses addressed to this node and sends the others.
func (n *node) deliver(resps []pb.Message) error {
	for _, r := range resps {
		if r.To == 1 {
			if err := n.rn.Step(r); err != nil {
				return err
			}
		} else {
			send([]pb.Message{r})
		}
	}
	return nil
}

// This example runs a durable single-node cluster with
// Config.AsyncStorageWrites: no Advance, and the store's SaveAppends
// acknowledges each write with the responses raft attached to it.
func Example_asyncStorageWrites() {
	dir, err := os.MkdirTemp("", "wal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	n, err := startNode(dir, true, 0)
	if err != nil {
		log.Fatal(err)
	}
	n.drain(n.handleAsyncReady)
	if err := n.rn.Campaign(); err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{"x", "y"} {
		n.drain(n.handleAsyncReady)
		if err := n.rn.Propose([]byte(p)); err != nil {
			log.Fatal(err)
		}
	}
	n.drain(n.handleAsyncReady)
	fmt.Println("applied", n.applied, "up to index", n.index)
	n.store.Close()

	// After a restart, the entries and the commit index are back; the
	// application re-applies what it had not kept (here, everything).
	n, err = startNode(dir, true, 0)
	if err != nil {
		log.Fatal(err)
	}
	n.drain(n.handleAsyncReady)
	fmt.Println("after restart, applied", n.applied, "up to index", n.index)
	n.store.Close()
	// Output:
	// applied [x y] up to index 4
	// after restart, applied [x y] up to index 4
}
