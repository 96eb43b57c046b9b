package raft

// Node tests of the Ready channel: the Ready/Advance handshake, and Ready
// under AsyncStorageWrites.

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestNodeReadyAdvanceHandshake pins the Ready/Advance handshake a host
// written for etcd-raft v3.6 relies on: what the node serves while a Ready
// is on offer or not yet advanced, and what Stop does to calls in flight.
func TestNodeReadyAdvanceHandshake(t *testing.T) {
	t.Run("ApplyConfChange is served while a Ready waits to be received", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}})
			synctest.Wait()
			// The bootstrap Ready is on offer and nobody receives it.
			w := goCall(func() *pb.ConfState {
				return h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 2})
			})
			synctest.Wait()
			cs, done := w.result()
			require.True(t, done, "ApplyConfChange blocked while a Ready was on offer")
			assert.Equal(t, []uint64{1, 2}, cs.Voters, "got voters %v, want [1 2]", cs.Voters)
		})
	})
	t.Run("ApplyConfChange is served between Ready and Advance", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}})
			rd := <-h.n.Ready()
			h.handle(rd) // applies the bootstrap conf changes before Advance
			h.n.Advance()
			assert.Equal(t, []uint64{1, 2}, h.cs.Voters, "got voters %v, want [1 2]", h.cs.Voters)
		})
	})
	t.Run("no second Ready is offered before Advance", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			require.NoError(t, h.n.Propose(context.Background(), []byte("a")))
			synctest.Wait()
			rd := <-h.n.Ready()
			require.NoError(t, h.n.Propose(context.Background(), []byte("b")))
			synctest.Wait()
			select {
			case <-h.n.Ready():
				t.Fatal("got a second Ready before Advance, want none")
			default:
			}
			h.handle(rd)
			h.n.Advance()
			h.drain()
			assert.Equal(t, []string{"a", "b"}, h.appliedData(), "got applied %q, want [a b]", h.appliedData())
		})
	})
	t.Run("Advance without an outstanding Ready blocks until Stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			w := goCall(func() bool { h.n.Advance(); return true })
			synctest.Wait()
			_, done := w.result()
			require.False(t, done, "Advance returned without a Ready, want it blocked")
			// The node keeps serving other requests meanwhile.
			require.NoError(t, h.n.Propose(context.Background(), []byte("x")))
			h.n.Stop()
			synctest.Wait()
			_, done = w.result()
			assert.True(t, done, "Advance still blocked after Stop")
		})
	})
	t.Run("Stop while a proposal is stepped reports its outcome or ErrStopped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			ctx := context.Background()
			var ws []callResult[error]
			for range 4 {
				ws = append(ws, goCall(func() error { return h.n.Propose(ctx, []byte("x")) }))
			}
			h.n.Stop()
			synctest.Wait()
			for i, w := range ws {
				err, done := w.result()
				require.True(t, done, "Propose %d still blocked after Stop", i)
				if err != nil {
					assert.ErrorIs(t, err, ErrStopped, "Propose %d: got %v, want nil or %v", i, err, ErrStopped)
				}
			}
		})
	})
}

func TestNodeAsyncStorageWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := nodeTestConfig(1, NewMemoryStorage())
		c.AsyncStorageWrites = true
		h := startTestNode(t, c, []Peer{{ID: 1}})
		// drainAsync plays the append and apply threads inline: it persists
		// or applies what each storage message asks and steps its responses
		// back, never calling Advance.
		drainAsync := func() {
			for {
				synctest.Wait()
				var rd Ready
				select {
				case rd = <-h.n.Ready():
				default:
					return
				}
				for _, m := range rd.Messages {
					switch m.To {
					case LocalAppendThread:
						h.handle(Ready{HardState: pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit},
							Entries: m.Entries, Snapshot: snapshotOrEmpty(m.Snapshot)})
					case LocalApplyThread:
						h.handle(Ready{CommittedEntries: m.Entries})
					default:
						continue
					}
					for _, resp := range m.Responses {
						require.NoError(t, h.n.Step(context.Background(), resp))
					}
				}
			}
		}
		drainAsync()
		require.NoError(t, h.n.Campaign(context.Background()))
		drainAsync()
		require.Equal(t, StateLeader, h.n.Status().RaftState, "h.n.Status().RaftState: got %v, want StateLeader", h.n.Status().RaftState)
		require.NoError(t, h.n.Propose(context.Background(), []byte("foo")))
		drainAsync()
		assert.Equal(t, []string{"foo"}, h.appliedData(), "got applied %q, want [foo]", h.appliedData())
		st := h.n.Status()
		assert.Equal(t, st.Commit, st.Applied, "got applied %d, want it to catch up with commit %d", st.Applied, st.Commit)
	})
}

func snapshotOrEmpty(s *pb.Snapshot) pb.Snapshot {
	if s == nil {
		return pb.Snapshot{}
	}
	return *s
}
