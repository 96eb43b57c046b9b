package transport_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/transport"
)

// quiet discards the logs of raft and of the transport, so that the example
// prints only its own lines. Pass your own raft.Logger in real use.
var quiet = &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}

// runNode is a minimal Ready loop for a raft.Node: persist, send through the
// transport, apply, advance. A real host persists to disk (see the storage
// package) and applies to its state machine.
func runNode(n raft.Node, storage *raft.MemoryStorage, tr *transport.Transport, apply func(string), stop <-chan struct{}) {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			n.Tick()
		case rd := <-n.Ready():
			if !raft.IsEmptySnap(rd.Snapshot) {
				storage.ApplySnapshot(rd.Snapshot)
			}
			storage.Append(rd.Entries)
			if !raft.IsEmptyHardState(rd.HardState) {
				storage.SetHardState(rd.HardState)
			}
			// Send returns at once: a slow or dead peer never holds up the
			// loop; raft hears of dropped messages via ReportUnreachable.
			tr.Send(rd.Messages)
			for _, e := range rd.CommittedEntries {
				switch e.Type {
				case raftpb.EntryNormal:
					if len(e.Data) > 0 {
						apply(string(e.Data))
					}
				case raftpb.EntryConfChange:
					var cc raftpb.ConfChange
					if err := cc.Unmarshal(e.Data); err == nil {
						n.ApplyConfChange(cc)
					}
				}
			}
			n.Advance()
		case <-stop:
			return
		}
	}
}

// This example runs a three-node cluster of raft.Node over loopback TCP. A
// raft.Node is a transport.Raft as it is: the transport steps received
// messages into it and reports failures to it directly.
func Example_node() {
	ids := []uint64{1, 2, 3}
	listeners := map[uint64]net.Listener{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			return
		}
		listeners[id] = ln
	}

	var mu sync.Mutex
	applied := map[uint64][]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var nodes []raft.Node
	var transports []*transport.Transport
	for _, id := range ids {
		storage := raft.NewMemoryStorage()
		n := raft.StartNode(&raft.Config{
			ID: id, ElectionTick: 10, HeartbeatTick: 1, Storage: storage,
			MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256, Logger: quiet,
		}, []raft.Peer{{ID: 1}, {ID: 2}, {ID: 3}})
		tr, err := transport.New(transport.Config{ID: id, ClusterID: 0x5eed, Raft: n, Logger: quiet})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, peer := range ids {
			if peer != id {
				tr.AddPeer(peer, listeners[peer].Addr().String())
			}
		}
		go tr.Serve(listeners[id])
		wg.Add(1)
		go func() {
			defer wg.Done()
			runNode(n, storage, tr, func(s string) {
				mu.Lock()
				applied[id] = append(applied[id], s)
				mu.Unlock()
			}, stop)
		}()
		nodes = append(nodes, n)
		transports = append(transports, tr)
	}

	// Propose through node 1 (forwarded to the leader once there is one),
	// and again if the proposal was lost, until every node has applied it.
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if !slices.Contains(applied[id], "x=1") {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(20 * time.Second)
	for !done() && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		nodes[0].Propose(ctx, []byte("x=1"))
		for !done() && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}
	for _, id := range ids {
		mu.Lock()
		fmt.Printf("node %d applied x=1: %v\n", id, slices.Contains(applied[id], "x=1"))
		mu.Unlock()
	}

	// Shutdown: stop the Ready loops, close the transports (no more calls
	// into raft after Close returns), then stop the nodes.
	close(stop)
	wg.Wait()
	for i := range nodes {
		transports[i].Close()
		nodes[i].Stop()
	}
	// Output:
	// node 1 applied x=1: true
	// node 2 applied x=1: true
	// node 3 applied x=1: true
}
