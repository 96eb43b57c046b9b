package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

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

// propose proposes data, a command or configuration change carrying the
// request ID id, and waits until the entry is applied. A command is
// proposed again every RetryInterval until then (the state machine skips
// the copies), since a proposal forwarded to a leader that failed is lost
// without a word. A configuration change is proposed once: raft would
// apply a second copy as a second change.
func (s *server) propose(ctx context.Context, id uint64, prop func(context.Context) error, retry bool) (applyResult, error) {
	ch, done := s.waiters.waitApply(id)
	defer done()
	proposed := false
	for attempt := 0; ; attempt++ {
		if attempt == 0 || retry {
			actx, cancel := context.WithTimeout(ctx, s.cfg.RetryInterval)
			err := prop(actx)
			cancel()
			switch {
			case err == nil:
				proposed = true
			case errors.Is(err, raft.ErrProposalDropped):
				// Not in any log: the node had no way to take it.
				if !retry {
					return applyResult{}, s.outcome(proposed, err)
				}
			case errors.Is(err, raft.ErrStopped):
				return applyResult{}, s.outcome(proposed, errStopped)
			default:
				// The attempt timed out waiting for a leader; the proposal
				// may or may not have been handed over.
				proposed = true
			}
		}
		select {
		case res := <-ch:
			return res, nil
		case <-time.After(s.cfg.RetryInterval):
		case <-ctx.Done():
			return applyResult{}, s.outcome(proposed, fmt.Errorf("not applied within %v", s.cfg.RequestTimeout))
		case <-s.waiters.stopped:
			return applyResult{}, s.outcome(proposed, errStopped)
		}
	}
}

// outcome wraps why a proposal was not seen applied in what the client can
// conclude from it.
func (s *server) outcome(proposed bool, why error) error {
	if proposed {
		return fmt.Errorf("%w: %w; the write may still be applied", errUnknownOutcome, why)
	}
	return fmt.Errorf("%w: %w", errNotDone, why)
}

// readIndex returns an index at which a read of the state machine is
// linearizable (thesis 6.4): the leader's commit index, confirmed by a
// quorum, at some point after readIndex was called. It waits until the
// state machine has applied that index. An unanswered request is made
// again every RetryInterval with the same context: raft then answers the
// latest attempt only.
func (s *server) readIndex(ctx context.Context) (uint64, error) {
	rctx := newReadContext()
	ch, done := s.waiters.waitRead(rctx)
	defer done()
	for {
		actx, cancel := context.WithTimeout(ctx, s.cfg.RetryInterval)
		err := s.node.ReadIndex(actx, rctx)
		if errors.Is(err, raft.ErrStopped) {
			cancel()
			return 0, errStopped
		}
		select {
		case index := <-ch:
			cancel()
			if err := s.applied.wait(ctx, index, s.waiters.stopped); err != nil {
				return 0, fmt.Errorf("%w: read index %d confirmed but not applied within %v", errUnknownOutcome, index, s.cfg.RequestTimeout)
			}
			return index, nil
		case <-actx.Done():
			cancel()
			if ctx.Err() != nil {
				return 0, fmt.Errorf("%w: no read index confirmed within %v (no leader?)", errUnknownOutcome, s.cfg.RequestTimeout)
			}
		case <-s.waiters.stopped:
			cancel()
			return 0, errStopped
		}
	}
}
