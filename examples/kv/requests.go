package main

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// How HTTP handlers wait for raft: a write waits for its entry to be
// applied, a linearizable read for its ReadState and then for the applied
// index to reach it. The Ready loop is the only goroutine that completes
// these waits.

// newRequestID returns a random, non-zero request ID. IDs are drawn, not
// counted, so that a restarted replica does not reuse the IDs of its
// previous run, whose entries may still be in the log.
func newRequestID() uint64 {
	for {
		if id := rand.Uint64(); id != 0 {
			return id
		}
	}
}

// applyResult is what the Ready loop tells the handler of a request when
// the entry carrying the request's ID is applied.
type applyResult struct {
	// index is the log index of the entry.
	index uint64
	// conf is the configuration after a configuration change; nil for a
	// write.
	conf *pb.ConfState
}

// waiters matches requests waiting for the Ready loop to their outcome:
// writes and configuration changes by request ID, reads by request
// context. It is safe for concurrent use.
type waiters struct {
	mu sync.Mutex
	// applies holds a channel per request ID waiting for its entry.
	// Invariant: each channel has room for one result, so the Ready loop
	// never blocks on it.
	applies map[uint64]chan applyResult
	// reads holds a channel per ReadIndex request context waiting for its
	// ReadState. Invariant: each channel has room for one index.
	reads map[string]chan uint64
	// stopped is closed when the server stops; waits end with errStopped.
	stopped chan struct{}
}

func newWaiters() *waiters {
	return &waiters{
		applies: map[uint64]chan applyResult{},
		reads:   map[string]chan uint64{},
		stopped: make(chan struct{}),
	}
}

// register adds a channel with room for one value under key to m, which
// mu guards, and returns it with a function that removes it again.
func register[K comparable, V any](mu *sync.Mutex, m map[K]chan V, key K) (<-chan V, func()) {
	ch := make(chan V, 1)
	mu.Lock()
	m[key] = ch
	mu.Unlock()
	return ch, func() {
		mu.Lock()
		delete(m, key)
		mu.Unlock()
	}
}

// waitApply registers id and returns the channel its result will arrive on,
// and a function to call when the caller stops waiting.
func (w *waiters) waitApply(id uint64) (<-chan applyResult, func()) {
	return register(&w.mu, w.applies, id)
}

// applied hands res to the request waiting for id, if any is.
func (w *waiters) applied(id uint64, res applyResult) {
	w.mu.Lock()
	ch, ok := w.applies[id]
	delete(w.applies, id)
	w.mu.Unlock()
	if ok {
		ch <- res
	}
}

// newReadContext returns a fresh context for a ReadIndex request: the
// eight bytes of a random ID. A retry of the request reuses it, so that
// raft answers the latest attempt only.
func newReadContext() []byte {
	return binary.BigEndian.AppendUint64(nil, newRequestID())
}

// waitRead registers rctx and returns the channel its read index will
// arrive on, and a function to call when the caller stops waiting.
func (w *waiters) waitRead(rctx []byte) (<-chan uint64, func()) {
	return register(&w.mu, w.reads, string(rctx))
}

// readState hands the index of rs to the read waiting for its context, if
// any is. A second answer for the same context (raft answers only the
// latest attempt, but an earlier one may have been answered just before
// the retry) is dropped when the first has not been taken yet; either
// index is safe to read at, since both were confirmed after the read
// began.
func (w *waiters) readState(rs raft.ReadState) {
	w.mu.Lock()
	ch, ok := w.reads[string(rs.RequestCtx)]
	w.mu.Unlock()
	if ok {
		select {
		case ch <- rs.Index:
		default:
		}
	}
}

// stop ends every wait, present and future.
func (w *waiters) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.stopped:
	default:
		close(w.stopped)
	}
}

// appliedIndex tracks the index the state machine has applied, for reads
// waiting to reach a read index. It is safe for concurrent use.
type appliedIndex struct {
	mu    sync.Mutex
	index uint64
	// moved is closed, and replaced, whenever index grows.
	moved chan struct{}
}

func newAppliedIndex(index uint64) *appliedIndex {
	return &appliedIndex{index: index, moved: make(chan struct{})}
}

// set records that everything up to index is applied. index never goes
// back: a smaller value is ignored.
func (a *appliedIndex) set(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if index <= a.index {
		return
	}
	a.index = index
	close(a.moved)
	a.moved = make(chan struct{})
}

// get returns the applied index.
func (a *appliedIndex) get() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.index
}

// wait returns nil once index is applied, or ctx's error, or errStopped
// when stopped is closed first.
func (a *appliedIndex) wait(ctx context.Context, index uint64, stopped <-chan struct{}) error {
	for {
		a.mu.Lock()
		done, moved := a.index >= index, a.moved
		a.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		case <-stopped:
			return errStopped
		}
	}
}
