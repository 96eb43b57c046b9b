package suite

// What a host of many groups (multi-raft) pays per group at rest: the heap an
// idle replica retains, and the cost of ticking every replica once.

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// idleGroups is the number of groups the idle-group benchmarks build.
const idleGroups = 10000

// newIdleReplica returns replica 1 of the group {1, 2, 3}, at rest, with
// nothing sent anywhere (messages are dropped).
//
// As leader it has campaigned, been granted the votes of 2 and 3, and seen
// both acknowledge its whole log, so both are in replicate state and its
// empty entry is committed and applied. As follower it has accepted the
// empty entry of leader 2 at term 2 with its commit, and applied it.
func newIdleReplica(leader bool, t ticks) (*raft.RawNode, error) {
	s, err := bootStorage(3)
	if err != nil {
		return nil, err
	}
	rn, err := raft.NewRawNode(newConfig(1, s, t, false))
	if err != nil {
		return nil, err
	}
	var steps []pb.Message
	if leader {
		if err := rn.Campaign(); err != nil {
			return nil, err
		}
		if err := settle(rn, s); err != nil {
			return nil, err
		}
		term := rn.BasicStatus().Term
		for _, from := range []uint64{2, 3} {
			steps = append(steps, pb.Message{Type: pb.MsgVoteResp, From: from, To: 1, Term: term})
		}
		for _, from := range []uint64{2, 3} {
			// The leader's empty entry follows the boot snapshot.
			steps = append(steps, pb.Message{Type: pb.MsgAppResp, From: from, To: 1, Term: term, Index: bootIndex + 1})
		}
	} else {
		steps = append(steps, pb.Message{
			Type: pb.MsgApp, From: 2, To: 1, Term: 2, Index: bootIndex, LogTerm: bootTerm,
			Entries: []pb.Entry{{Term: 2, Index: bootIndex + 1}}, Commit: bootIndex + 1,
		})
	}
	for _, m := range steps {
		if err := rn.Step(m); err != nil {
			return nil, fmt.Errorf("stepping %v from %d: %w", m.Type, m.From, err)
		}
		if err := settle(rn, s); err != nil {
			return nil, err
		}
	}
	return rn, nil
}

// settle handles rn's Readies until there is none: it persists them and
// drops their messages.
func settle(rn *raft.RawNode, s *raft.MemoryStorage) error {
	for rn.HasReady() {
		rd := rn.Ready()
		if err := persist(s, rd.HardState, rd.Entries, &rd.Snapshot); err != nil {
			return err
		}
		rn.Advance(rd)
	}
	return nil
}

// checkIdleReplica fails unless rn is the idle replica newIdleReplica
// promises.
func checkIdleReplica(tb testing.TB, rn *raft.RawNode, leader bool) {
	tb.Helper()
	st := rn.BasicStatus()
	want := raft.BasicStatus{}
	want.ID, want.Commit, want.Applied = 1, bootIndex+1, bootIndex+1
	// A follower learns term 2 from its leader; a leader wins the term
	// after the boot snapshot's, as the boot storage holds no HardState.
	want.RaftState, want.Lead, want.Term, want.Vote = raft.StateFollower, 2, 2, 0
	if leader {
		want.RaftState, want.Lead, want.Term, want.Vote = raft.StateLeader, 1, 1, 1
	}
	if st.ID != want.ID || st.Term != want.Term || st.Commit != want.Commit || st.Applied != want.Applied ||
		st.RaftState != want.RaftState || st.Lead != want.Lead || st.Vote != want.Vote {
		tb.Fatalf("idle replica: got %+v, want %+v", st, want)
	}
	if rn.HasReady() {
		tb.Fatalf("idle replica: got a pending Ready, want none")
	}
}

func roleName(leader bool) string {
	if leader {
		return "leader"
	}
	return "follower"
}

// buildIdleGroups fills groups with idle replicas.
func buildIdleGroups(tb testing.TB, groups []*raft.RawNode, leader bool, t ticks) {
	for i := range groups {
		rn, err := newIdleReplica(leader, t)
		if err != nil {
			tb.Fatalf("idle %s %d: %v", roleName(leader), i, err)
		}
		groups[i] = rn
	}
}

// liveHeap returns the bytes of heap in use after a complete collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkIdleGroups builds idleGroups idle replicas per op (see
// newIdleReplica) and reports retained-B/group: the heap still in use once
// they are built, after a complete collection, with the replicas kept alive,
// divided by their number. A replica's MemoryStorage counts: a host keeps
// one per group. ns/op, B/op and allocs/op are those of building the
// idleGroups replicas.
func BenchmarkIdleGroups(b *testing.B) {
	for _, leader := range []bool{true, false} {
		b.Run(fmt.Sprintf("role=%s/groups=%d", roleName(leader), idleGroups), func(b *testing.B) {
			groups := make([]*raft.RawNode, idleGroups)
			var retained float64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				clear(groups)
				before := liveHeap()
				b.StartTimer()
				buildIdleGroups(b, groups, leader, liveTicks)
				b.StopTimer()
				retained += float64(liveHeap()) - float64(before)
				checkIdleReplica(b, groups[len(groups)-1], leader)
				runtime.KeepAlive(groups)
				b.StartTimer()
			}
			b.ReportMetric(retained/float64(b.N*idleGroups), "retained-B/group")
		})
	}
}

// BenchmarkIdleGroupsTick ticks each of idleGroups idle replicas once per
// op, and runs a replica's Ready loop when it has one (persisting, dropping
// the messages), as a host's tick loop does. It also reports ns/group.
//
// mode=idle keeps every timeout out of reach, so a tick only counts and no
// Ready follows; mode=heartbeat makes every leader tick a heartbeat to its
// two followers.
func BenchmarkIdleGroupsTick(b *testing.B) {
	cases := []struct {
		leader bool
		mode   string
		ticks  ticks
	}{
		{true, "idle", farTicks},
		{true, "heartbeat", liveTicks},
		{false, "idle", farTicks},
	}
	for _, tc := range cases {
		b.Run(fmt.Sprintf("role=%s/mode=%s/groups=%d", roleName(tc.leader), tc.mode, idleGroups), func(b *testing.B) {
			groups := make([]*raft.RawNode, idleGroups)
			buildIdleGroups(b, groups, tc.leader, tc.ticks)
			readies := 0
			b.ReportAllocs()
			for b.Loop() {
				for _, rn := range groups {
					rn.Tick()
					if rn.HasReady() {
						rd := rn.Ready()
						if !raft.IsEmptyHardState(rd.HardState) || len(rd.Entries) > 0 || len(rd.CommittedEntries) > 0 {
							b.Fatalf("idle %s: got a Ready with state to persist or apply, want messages only", roleName(tc.leader))
						}
						rn.Advance(rd)
						readies++
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*idleGroups), "ns/group")
			want := 0
			if tc.mode == "heartbeat" {
				want = b.N * idleGroups
			}
			if readies != want {
				b.Fatalf("got %d Readies, want %d", readies, want)
			}
			checkIdleReplica(b, groups[0], tc.leader)
		})
	}
}

// TestIdleReplica checks the replicas the idle-group benchmarks measure: at
// rest in the promised state, silent when ticked with far timeouts, and,
// for a leader with live timeouts, sending exactly one heartbeat to each
// follower per tick.
func TestIdleReplica(t *testing.T) {
	for _, leader := range []bool{true, false} {
		t.Run(roleName(leader), func(t *testing.T) {
			rn, err := newIdleReplica(leader, farTicks)
			if err != nil {
				t.Fatalf("newIdleReplica: got %v, want nil", err)
			}
			checkIdleReplica(t, rn, leader)
			for range 100 {
				rn.Tick()
				if rn.HasReady() {
					t.Fatalf("idle %s with far timeouts: got a Ready after a tick, want none", roleName(leader))
				}
			}
		})
	}
	t.Run("leader/heartbeat", func(t *testing.T) {
		rn, err := newIdleReplica(true, liveTicks)
		if err != nil {
			t.Fatalf("newIdleReplica: got %v, want nil", err)
		}
		for range 3 {
			rn.Tick()
			if !rn.HasReady() {
				t.Fatalf("leader with live timeouts: got no Ready after a tick, want heartbeats")
			}
			rd := rn.Ready()
			var to []uint64
			for _, m := range rd.Messages {
				if m.Type != pb.MsgHeartbeat {
					t.Errorf("got a %v, want only MsgHeartbeat", m.Type)
				}
				to = append(to, m.To)
			}
			if len(to) != 2 || to[0] == to[1] {
				t.Errorf("heartbeats went to %v, want one to each of 2 and 3", to)
			}
			rn.Advance(rd)
		}
	})
}
