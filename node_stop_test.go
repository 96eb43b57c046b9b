package raft

// Node tests of Stop.

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

func TestNodeStop(t *testing.T) {
	t.Run("Stop is idempotent and safe from many goroutines", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}})
			var ws []callResult[struct{}]
			for range 3 {
				ws = append(ws, goCall(func() struct{} { h.n.Stop(); return struct{}{} }))
			}
			synctest.Wait()
			for i, w := range ws {
				_, done := w.result()
				assert.True(t, done, "concurrent Stop %d did not return", i)
			}
			h.n.Stop()
		})
	})
	t.Run("blocked callers return when the node stops", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
			h.drain()
			propose := goCall(func() error { return h.n.Propose(context.Background(), []byte("x")) })
			advance := goCall(func() bool { h.n.Advance(); return true })
			synctest.Wait()
			for name, done := range map[string]bool{"Propose": hasReturned(propose), "Advance": hasReturned(advance)} {
				require.False(t, done, "%s returned before Stop, want it blocked", name)
			}

			h.n.Stop()
			synctest.Wait()
			err, ok := propose.result()
			require.True(t, ok, "Propose still blocked after Stop")
			assert.ErrorIs(t, err, ErrStopped, "got %v, want %v", err, ErrStopped)
			_, ok = advance.result()
			assert.True(t, ok, "Advance still blocked after Stop")
			// As in v3.6, the Ready channel is neither closed nor fed after
			// Stop: a host loop selecting on it must not spin on zero Readies.
			select {
			case rd, open := <-h.n.Ready():
				t.Errorf("got a Ready (%v, open=%t) after Stop, want none", DescribeReady(rd, nil), open)
			default:
			}
		})
	})
	t.Run("callers waiting for the node's goroutine return when it exits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := nodeTestConfig(1, NewMemoryStorage())
			rn, err := NewRawNode(c)
			require.NoError(t, err)
			// Without its goroutine the node serves nothing: every call
			// waits until done is closed, as run does on its way out.
			n := newNode(rn, c)
			ctx := context.Background()
			status := goCall(n.Status)
			step := goCall(func() error { return n.Step(ctx, pb.Message{Type: pb.MsgApp, From: 2}) })
			campaign := goCall(func() error { return n.Campaign(ctx) })
			readIndex := goCall(func() error { return n.ReadIndex(ctx, []byte("r")) })
			forget := goCall(func() error { return n.ForgetLeader(ctx) })
			apply := goCall(func() *pb.ConfState { return n.ApplyConfChange(pb.ConfChange{NodeID: 2}) })
			synctest.Wait()
			_, blocked := status.result()
			require.False(t, blocked, "Status returned without the node's goroutine")

			close(n.done)
			synctest.Wait()
			st, ok := status.result()
			require.True(t, ok, "Status still blocked")
			assert.Equal(t, Status{}, st, "got %v, want the zero Status", st)
			for name, w := range map[string]callResult[error]{"Step": step, "Campaign": campaign, "ReadIndex": readIndex, "ForgetLeader": forget} {
				err, ok := w.result()
				require.True(t, ok, "%s still blocked", name)
				assert.ErrorIs(t, err, ErrStopped, "%s: got %v, want %v", name, err, ErrStopped)
			}
			cs, ok := apply.result()
			require.True(t, ok, "ApplyConfChange still blocked")
			assert.Equal(t, &pb.ConfState{}, cs, "got %v, want the zero ConfState", cs)
		})
	})
	t.Run("calls after Stop return at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			h.n.Stop()
			ctx := context.Background()
			for name, err := range map[string]error{
				"Propose":           h.n.Propose(ctx, []byte("x")),
				"ProposeConfChange": h.n.ProposeConfChange(ctx, pb.ConfChange{NodeID: 2}),
				"Campaign":          h.n.Campaign(ctx),
				"Step":              h.n.Step(ctx, pb.Message{Type: pb.MsgHeartbeat, From: 2}),
				"ReadIndex":         h.n.ReadIndex(ctx, []byte("r")),
				"ForgetLeader":      h.n.ForgetLeader(ctx),
			} {
				assert.ErrorIs(t, err, ErrStopped, "%s: got %v, want %v", name, err, ErrStopped)
			}
			assert.Equal(t, Status{}, h.n.Status(), "got a non-zero Status after Stop")
			cs := h.n.ApplyConfChange(pb.ConfChange{NodeID: 2})
			assert.Equal(t, &pb.ConfState{}, cs, "got %v after Stop, want an empty ConfState", cs)
			// These have no result; they must simply not block.
			h.n.Tick()
			h.n.Advance()
			h.n.ReportUnreachable(2)
			h.n.ReportSnapshot(2, SnapshotFailure)
			h.n.TransferLeadership(ctx, 1, 2)
		})
	})
}

// hasReturned reports whether w's function has returned, without consuming
// its result for good (the result is put back).
func hasReturned[T any](w callResult[T]) bool {
	v, ok := w.result()
	if ok {
		w.c <- v
	}
	return ok
}
