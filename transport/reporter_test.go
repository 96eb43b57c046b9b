package transport

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// blockingHost is a Raft whose report methods wait for release, like a
// host busy elsewhere, and record what they were told.
type blockingHost struct {
	entered chan struct{} // receives once per report, before it waits
	release chan struct{}
	mu      sync.Mutex
	got     []string
}

func (h *blockingHost) Step(context.Context, raftpb.Message) error { return nil }

func (h *blockingHost) ReportUnreachable(id uint64) {
	h.entered <- struct{}{}
	<-h.release
	h.record("unreachable", id, 0)
}

func (h *blockingHost) ReportSnapshot(id uint64, s raft.SnapshotStatus) {
	h.entered <- struct{}{}
	<-h.release
	h.record("snapshot", id, s)
}

func (h *blockingHost) record(what string, id uint64, s raft.SnapshotStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, fmt.Sprintf("%s:%d:%d", what, id, s))
}

func TestReporterCoalescesWhileTheHostIsBusy(t *testing.T) {
	host := &blockingHost{entered: make(chan struct{}, 100), release: make(chan struct{})}
	r := newReporter(host)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()

	// The first report is taken and blocks in the host; the rest pile up.
	r.reportUnreachable(1)
	<-host.entered
	for range 1000 {
		for id := uint64(1); id <= 3; id++ {
			r.reportUnreachable(id)
		}
	}
	r.reportSnapshot(2, raft.SnapshotFailure)
	r.reportSnapshot(2, raft.SnapshotFinish)
	r.mu.Lock()
	pending := len(r.unreachable) + len(r.snapshots)
	r.mu.Unlock()
	// Up to 3 unreachable and 1 snapshot report wait, however many came.
	if pending > 4 {
		t.Errorf("got %d reports pending, want at most 4", pending)
	}

	close(host.release)
	want := map[string]bool{"unreachable:1:0": true, "unreachable:2:0": true, "unreachable:3:0": true, "snapshot:2:1": true}
	eventually(t, "every peer reported", func() bool {
		host.mu.Lock()
		defer host.mu.Unlock()
		seen := map[string]bool{}
		for _, g := range host.got {
			seen[g] = true
		}
		return reflect.DeepEqual(seen, want)
	})
}
