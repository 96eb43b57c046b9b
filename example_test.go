package raft_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"math"
	"time"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// silent discards the library's log lines, so that the examples print only
// their own. Pass a logger of your own, or nil for the default, in real use.
var silent = &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}

// This example keeps a log in a MemoryStorage the way a Ready loop does,
// then snapshots the application's state and compacts the log behind it.
func ExampleMemoryStorage() {
	ms := raft.NewMemoryStorage()

	// Persist what a Ready hands out: its entries and its HardState.
	if err := ms.Append([]pb.Entry{
		{Term: 1, Index: 1},
		{Term: 1, Index: 2, Data: []byte("x=1")},
		{Term: 2, Index: 3, Data: []byte("y=2")},
		{Term: 2, Index: 4, Data: []byte("x=3")},
	}); err != nil {
		log.Fatal(err)
	}
	if err := ms.SetHardState(pb.HardState{Term: 2, Vote: 1, Commit: 4}); err != nil {
		log.Fatal(err)
	}
	first, _ := ms.FirstIndex()
	last, _ := ms.LastIndex()
	fmt.Printf("entries %d to %d\n", first, last)
	ents, _ := ms.Entries(2, last+1, math.MaxUint64)
	for _, e := range ents {
		fmt.Printf("  term %d index %d: %s\n", e.Term, e.Index, e.Data)
	}

	// Once the application has applied up to index 3, it can snapshot its
	// state there and drop the entries the snapshot covers.
	snap, err := ms.CreateSnapshot(3, &pb.ConfState{Voters: []uint64{1}}, []byte("x=1 y=2"))
	if err != nil {
		log.Fatal(err)
	}
	if err := ms.Compact(3); err != nil {
		log.Fatal(err)
	}
	first, _ = ms.FirstIndex()
	fmt.Printf("snapshot at index %d holding %q; entries %d to %d\n", snap.Metadata.Index, snap.Data, first, last)
	term, _ := ms.Term(3)
	fmt.Printf("term of index 3: %d (kept for the entry after it)\n", term)
	if _, err := ms.Entries(2, 4, math.MaxUint64); err != nil {
		fmt.Println("entries 2 and 3:", err)
	}
	// Output:
	// entries 1 to 4
	//   term 1 index 2: x=1
	//   term 2 index 3: y=2
	//   term 2 index 4: x=3
	// snapshot at index 3 holding "x=1 y=2"; entries 4 to 4
	// term of index 3: 2 (kept for the entry after it)
	// entries 2 and 3: requested index is unavailable due to compaction
}

// This example runs a single-node cluster with RawNode: it bootstraps the
// configuration, campaigns, proposes two entries and asks for a
// linearizable read point, handling the Readys in between in the order the
// Ready contract asks for.
func ExampleRawNode() {
	storage := raft.NewMemoryStorage()
	rn, err := raft.NewRawNode(&raft.Config{
		ID:              1,
		ElectionTick:    10,
		HeartbeatTick:   1,
		Storage:         storage,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		Logger:          silent,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := rn.Bootstrap([]raft.Peer{{ID: 1}}); err != nil {
		log.Fatal(err)
	}

	// The Ready loop: persist, send (a single node has no one to send to),
	// apply, Advance; for as long as there is a Ready.
	handleReadys := func() {
		for rn.HasReady() {
			rd := rn.Ready()
			if rd.SoftState != nil {
				fmt.Printf("now %s, leader %d\n", rd.SoftState.RaftState, rd.SoftState.Lead)
			}
			if !raft.IsEmptySnap(rd.Snapshot) {
				storage.ApplySnapshot(rd.Snapshot)
			}
			storage.Append(rd.Entries)
			if !raft.IsEmptyHardState(rd.HardState) {
				storage.SetHardState(rd.HardState)
			}
			for _, e := range rd.CommittedEntries {
				switch {
				case e.Type == pb.EntryConfChange:
					var cc pb.ConfChange
					if err := cc.Unmarshal(e.Data); err != nil {
						log.Fatal(err)
					}
					cs := rn.ApplyConfChange(cc)
					fmt.Printf("applied %d: %s node %d, voters now %v\n", e.Index, cc.Type, cc.NodeID, cs.Voters)
				case len(e.Data) == 0:
					fmt.Printf("applied %d: the new leader's empty entry\n", e.Index)
				default:
					fmt.Printf("applied %d: %s\n", e.Index, e.Data)
				}
			}
			// A read may be served once its index is applied, which here
			// it already is.
			for _, rs := range rd.ReadStates {
				fmt.Printf("read %q may be served at index %d\n", rs.RequestCtx, rs.Index)
			}
			rn.Advance(rd)
		}
	}
	handleReadys() // commits and applies the bootstrap configuration

	// The node becomes a candidate and votes for itself; once the vote is
	// persisted (the Ready loop's Advance) that vote is a majority of one,
	// and the next Ready makes it leader. A member of a larger cluster
	// would send vote requests instead.
	if err := rn.Campaign(); err != nil {
		log.Fatal(err)
	}
	handleReadys()

	for _, data := range []string{"x=1", "y=2"} {
		if err := rn.Propose([]byte(data)); err != nil {
			log.Fatal(err)
		}
	}
	handleReadys()

	// A linearizable read: the answer comes back in a Ready, carrying the
	// request's context, which should be unique per request (a retry
	// reuses it).
	rn.ReadIndex([]byte("read-1"))
	handleReadys()

	st := rn.BasicStatus()
	fmt.Printf("term %d, commit %d, applied %d\n", st.Term, st.Commit, st.Applied)
	// Output:
	// applied 1: ConfChangeAddNode node 1, voters now [1]
	// now StateCandidate, leader 0
	// now StateLeader, leader 1
	// applied 2: the new leader's empty entry
	// applied 3: x=1
	// applied 4: y=2
	// read "read-1" may be served at index 4
	// term 2, commit 4, applied 4
}

// This example runs a single-node cluster with Node. The Ready loop runs on
// a goroutine of its own and ticks the node; the caller proposes through
// the node's methods, which are safe for concurrent use, and learns that
// its proposal was applied from the loop.
func ExampleNode() {
	storage := raft.NewMemoryStorage()
	n := raft.StartNode(&raft.Config{
		ID:              1,
		ElectionTick:    10,
		HeartbeatTick:   1,
		Storage:         storage,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		Logger:          silent,
	}, []raft.Peer{{ID: 1}})

	applied := make(chan string, 16)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		ticker := time.NewTicker(10 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				n.Tick()
			case rd := <-n.Ready():
				storage.Append(rd.Entries)
				if !raft.IsEmptyHardState(rd.HardState) {
					storage.SetHardState(rd.HardState)
				}
				// A real host sends rd.Messages to its peers here.
				for _, e := range rd.CommittedEntries {
					switch {
					case e.Type == pb.EntryConfChange:
						var cc pb.ConfChange
						if err := cc.Unmarshal(e.Data); err != nil {
							log.Fatal(err)
						}
						n.ApplyConfChange(cc)
					case len(e.Data) > 0:
						applied <- string(e.Data)
					}
				}
				n.Advance()
			case <-stop:
				return
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Without Campaign the node would elect itself after an election
	// timeout; Propose waits for a leader either way.
	if err := n.Campaign(ctx); err != nil {
		log.Fatal(err)
	}
	if err := n.Propose(ctx, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	select {
	case data := <-applied:
		fmt.Println("applied:", data)
	case <-ctx.Done():
		fmt.Println("not applied:", ctx.Err())
	}
	fmt.Println("state:", n.Status().RaftState)

	// Stop the Ready loop first, then the node.
	close(stop)
	<-stopped
	n.Stop()
	// Output:
	// applied: hello
	// state: StateLeader
}
