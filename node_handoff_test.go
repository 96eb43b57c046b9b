package raft

// Node tests of how requests reach the RawNode and how Readies reach the
// application: a Ready handed to an application already waiting for it, a
// Ready that piled up while the last one waited, contexts that ended before
// the request, and many goroutines using one node at once.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// proposedData returns the payloads of the normal entries in ents.
func proposedData(ents []pb.Entry) []string {
	var data []string
	for _, e := range ents {
		if e.Type == pb.EntryNormal && len(e.Data) > 0 {
			data = append(data, string(e.Data))
		}
	}
	return data
}

func TestNodeHandsReadyToWaitingApplication(t *testing.T) {
	t.Run("a Ready built while the application waits goes out and can be advanced", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			recv := goCall(func() Ready { return <-h.n.Ready() })
			synctest.Wait()
			require.NoError(t, h.n.Propose(context.Background(), []byte("a")))
			synctest.Wait()
			rd, ok := recv.result()
			require.True(t, ok, "the waiting application got no Ready after Propose")
			got := proposedData(rd.Entries)
			assert.Equal(t, []string{"a"}, got, "entries to persist: got %q, want [a]", got)
			h.handle(rd)
			adv := goCall(func() bool { h.n.Advance(); return true })
			synctest.Wait()
			_, ok = adv.result()
			require.True(t, ok, "Advance blocked on a Ready the application had received")
			h.drain()
			assert.Equal(t, []string{"a"}, h.appliedData(), "got applied %q, want [a]", h.appliedData())
		})
	})
	t.Run("requests made while a Ready is out go into the next one", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			require.NoError(t, h.n.Propose(context.Background(), []byte("a")))
			synctest.Wait()
			rd := <-h.n.Ready()
			for _, d := range []string{"b", "c"} {
				require.NoError(t, h.n.Propose(context.Background(), []byte(d)))
			}
			h.handle(rd)
			recv := goCall(func() Ready { return <-h.n.Ready() })
			h.n.Advance()
			synctest.Wait()
			next, ok := recv.result()
			require.True(t, ok, "no Ready offered after Advance with proposals pending")
			got := proposedData(next.Entries)
			assert.Equal(t, []string{"b", "c"}, got, "entries to persist: got %q, want [b c]", got)
		})
	})
}

func TestNodeAsyncOffersPiledUpReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := nodeTestConfig(1, NewMemoryStorage())
		c.AsyncStorageWrites = true
		// NB: a follower (never elected) keeps the Readies to what the test
		// steps in: an append from leader 2 makes one of its own.
		h := startTestNode(t, c, []Peer{{ID: 1}, {ID: 2}})
		appendFromLeader := func(index uint64, data string) {
			m := pb.Message{Type: pb.MsgApp, From: 2, To: 1, Term: 2, Index: index - 1, LogTerm: 1,
				Entries: []pb.Entry{{Term: 2, Index: index, Data: []byte(data)}}}
			if index > 3 {
				m.LogTerm = 2
			}
			require.NoError(t, h.n.Step(context.Background(), m))
		}
		// The bootstrap Ready is on offer; receive it without acting on it.
		synctest.Wait()
		<-h.n.Ready()
		appendFromLeader(3, "a")
		synctest.Wait()
		first := <-h.n.Ready()
		appendFromLeader(4, "b")
		synctest.Wait()
		// Nothing happens after this receive, yet the entry that arrived
		// while first waited must be offered at once.
		var second Ready
		select {
		case second = <-h.n.Ready():
		default:
			t.Fatal("no Ready offered for the append that came while the last Ready waited")
		}
		var got [][]string
		for _, rd := range []Ready{first, second} {
			var data []string
			for _, m := range rd.Messages {
				if m.To == LocalAppendThread {
					data = append(data, proposedData(m.Entries)...)
				}
			}
			got = append(got, data)
		}
		want := [][]string{{"a"}, {"b"}}
		assert.Equal(t, want, got, "entries to persist per Ready: got %q, want %q", got, want)
	})
}

func TestNodeEndedContextIsNotHandedOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSingleLeader(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for name, err := range map[string]error{
			"Propose":   h.n.Propose(ctx, []byte("x")),
			"Step":      h.n.Step(ctx, pb.Message{Type: pb.MsgProp, From: 1, Entries: []pb.Entry{{Data: []byte("y")}}}),
			"ReadIndex": h.n.ReadIndex(ctx, []byte("r")),
			"Campaign":  h.n.Campaign(ctx),
		} {
			assert.ErrorIs(t, err, context.Canceled, "%s: got %v, want %v", name, err, context.Canceled)
		}
		before := len(h.readies)
		h.drain()
		assert.Len(t, h.readies, before, "got Readies %v after requests with an ended context, want none", h.readies[before:])
	})
}

// TestNodeConcurrentCallers has several goroutines propose, read and ask for
// the status of one node while its application loop runs, and then stops
// the node under them.
func TestNodeConcurrentCallers(t *testing.T) {
	const proposers, each = 4, 50
	a := startLiveLeader(t)
	n := a.n

	var wg sync.WaitGroup
	errs := make(chan error, proposers*each+proposers)
	for p := range proposers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := n.Propose(context.Background(), fmt.Appendf(nil, "%d-%d", p, i)); err != nil {
					errs <- fmt.Errorf("proposer %d, proposal %d: %w", p, i, err)
				}
				if i%10 == 0 {
					if err := n.ReadIndex(context.Background(), fmt.Appendf(nil, "read-%d-%d", p, i)); err != nil {
						errs <- fmt.Errorf("proposer %d: ReadIndex: %w", p, err)
					}
					if st := n.Status(); st.RaftState != StateLeader {
						errs <- fmt.Errorf("proposer %d: got %v, want %v", p, st.RaftState, StateLeader)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	applied := a.waitApplied(proposers * each)

	t.Run("every proposal is applied once, each proposer's in order", func(t *testing.T) {
		require.Len(t, applied, proposers*each, "got %d entries applied, want %d", len(applied), proposers*each)
		for p := range proposers {
			var got, want []string
			for _, d := range applied {
				var from, i int
				if _, err := fmt.Sscanf(d, "%d-%d", &from, &i); err == nil && from == p {
					got = append(got, d)
				}
			}
			for i := range each {
				want = append(want, fmt.Sprintf("%d-%d", p, i))
			}
			assert.True(t, slices.Equal(got, want), "proposer %d: got %q, want %q", p, got, want)
		}
	})

	t.Run("every read request is answered", func(t *testing.T) {
		want := proposers * each / 10
		a.mu.Lock()
		for a.reads < want {
			a.changed.Wait()
		}
		got := a.reads
		a.mu.Unlock()
		assert.Equal(t, want, got, "got %d ReadStates, want %d", got, want)
	})

	t.Run("Stop under concurrent callers lets every call return", func(t *testing.T) {
		results := make(chan error, proposers)
		for range proposers {
			go func() {
				for {
					if err := n.Propose(context.Background(), []byte("late")); err != nil {
						results <- err
						return
					}
				}
			}()
		}
		n.Stop()
		for range proposers {
			err := <-results
			assert.ErrorIs(t, err, ErrStopped, "got %v, want %v", err, ErrStopped)
		}
	})
}
