package transport_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/transport"
)

// host drives one raft.RawNode. A RawNode is not safe for concurrent use, so
// mu serializes the Ready loop and the transport's calls. That is safe
// because the transport never calls back into the host from inside Send.
type host struct {
	mu      sync.Mutex
	rn      *raft.RawNode
	storage *raft.MemoryStorage
	kv      map[string]string
	wake    chan struct{} // a message was stepped; the loop has work
}

// Step, ReportUnreachable and ReportSnapshot make *host a transport.Raft.
func (h *host) Step(_ context.Context, m raftpb.Message) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	err := h.rn.Step(m)
	select {
	case h.wake <- struct{}{}:
	default:
	}
	return err
}

func (h *host) ReportUnreachable(id uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rn.ReportUnreachable(id)
}

func (h *host) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rn.ReportSnapshot(id, status)
}

// run ticks the node and handles its Readys until stop is closed.
func (h *host) run(tr *transport.Transport, stop <-chan struct{}) {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			h.mu.Lock()
			h.rn.Tick()
			h.mu.Unlock()
		case <-h.wake:
		case <-stop:
			return
		}
		h.mu.Lock()
		for h.rn.HasReady() {
			rd := h.rn.Ready()
			h.storage.Append(rd.Entries)
			if !raft.IsEmptyHardState(rd.HardState) {
				h.storage.SetHardState(rd.HardState)
			}
			tr.Send(rd.Messages) // never blocks, never calls back into h
			for _, e := range rd.CommittedEntries {
				if e.Type == raftpb.EntryNormal && len(e.Data) > 0 {
					h.kv["x"] = string(e.Data)
				}
			}
			h.rn.Advance(rd)
		}
		h.mu.Unlock()
	}
}

// This example runs a three-node cluster of raft.RawNode hosts over
// loopback TCP; each host implements transport.Raft with a mutex.
func Example_rawNode() {
	silent := &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}
	ids := []uint64{1, 2, 3}
	addrs := map[uint64]string{}
	listeners := map[uint64]net.Listener{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			return
		}
		listeners[id], addrs[id] = ln, ln.Addr().String()
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var hosts []*host
	var transports []*transport.Transport
	for _, id := range ids {
		storage := raft.NewMemoryStorage()
		rn, err := raft.NewRawNode(&raft.Config{
			ID: id, ElectionTick: 10, HeartbeatTick: 1, Storage: storage,
			MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256, Logger: silent,
		})
		if err == nil {
			err = rn.Bootstrap([]raft.Peer{{ID: 1}, {ID: 2}, {ID: 3}})
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		h := &host{rn: rn, storage: storage, kv: map[string]string{}, wake: make(chan struct{}, 1)}
		tr, err := transport.New(transport.Config{ID: id, ClusterID: 0x5eed, Raft: h, Logger: silent})
		if err != nil {
			fmt.Println(err)
			return
		}
		for peer, addr := range addrs {
			if peer != id {
				tr.AddPeer(peer, addr)
			}
		}
		go tr.Serve(listeners[id])
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.run(tr, stop)
		}()
		hosts = append(hosts, h)
		transports = append(transports, tr)
	}

	// Propose on whichever host leads, until every host has applied it.
	value := func(h *host) string {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.kv["x"]
	}
	everywhere := func() bool {
		for _, h := range hosts {
			if value(h) != "42" {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(20 * time.Second); !everywhere() && time.Now().Before(deadline); {
		for _, h := range hosts {
			h.mu.Lock()
			if h.rn.BasicStatus().RaftState == raft.StateLeader {
				h.rn.Propose([]byte("42"))
			}
			h.mu.Unlock()
		}
		for wait := time.Now().Add(time.Second); !everywhere() && time.Now().Before(wait); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i, h := range hosts {
		fmt.Printf("host %d: x=%s\n", ids[i], value(h))
	}

	close(stop)
	wg.Wait()
	// NB: the loops have stopped, so no host lock is held while Close waits
	// for the transport's calls into the hosts to finish.
	for _, tr := range transports {
		tr.Close()
	}
	// Output:
	// host 1: x=42
	// host 2: x=42
	// host 3: x=42
}
