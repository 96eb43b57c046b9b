package transport

import (
	"context"
	"sync"

	"github.com/quorate/raft"
)

// reporter hands delivery failures to the host from a goroutine of its
// own, so that Send never calls into the host: a host that holds its lock
// around the Ready loop would otherwise deadlock on its own callback.
//
// Reports are coalesced per peer, which keeps the pending set bounded by
// the number of peers however slow the host is. That loses nothing raft
// needs: repeated unreachable reports mean what one does, and of several
// snapshot outcomes for one peer only the latest matters (a finish says the
// follower has a snapshot; a failure sends the leader back to probing,
// which is always safe).
type reporter struct {
	raft Raft

	mu sync.Mutex
	// unreachable and snapshots hold the reports not yet delivered.
	unreachable map[uint64]struct{}
	snapshots   map[uint64]raft.SnapshotStatus
	// wake has room for one signal; a report sends one when it finds room.
	wake chan struct{}
}

func newReporter(r Raft) *reporter {
	return &reporter{
		raft:        r,
		unreachable: map[uint64]struct{}{},
		snapshots:   map[uint64]raft.SnapshotStatus{},
		wake:        make(chan struct{}, 1),
	}
}

// reportUnreachable queues an unreachable report for id; it never blocks.
func (r *reporter) reportUnreachable(id uint64) {
	r.mu.Lock()
	r.unreachable[id] = struct{}{}
	r.mu.Unlock()
	r.signal()
}

// reportSnapshot queues a snapshot outcome for id; it never blocks.
func (r *reporter) reportSnapshot(id uint64, status raft.SnapshotStatus) {
	r.mu.Lock()
	r.snapshots[id] = status
	r.mu.Unlock()
	r.signal()
}

func (r *reporter) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run delivers reports until ctx ends; what is pending then is discarded.
func (r *reporter) run(ctx context.Context) {
	unreachable := map[uint64]struct{}{}
	snapshots := map[uint64]raft.SnapshotStatus{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		r.mu.Lock()
		r.unreachable, unreachable = unreachable, r.unreachable
		r.snapshots, snapshots = snapshots, r.snapshots
		r.mu.Unlock()
		// Snapshot outcomes go first: a failure moves the leader to
		// probing, where the unreachable report that usually comes with
		// it is harmless.
		for id, status := range snapshots {
			if ctx.Err() != nil {
				return
			}
			r.raft.ReportSnapshot(id, status)
		}
		for id := range unreachable {
			if ctx.Err() != nil {
				return
			}
			r.raft.ReportUnreachable(id)
		}
		clear(snapshots)
		clear(unreachable)
	}
}
