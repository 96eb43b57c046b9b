package raft

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestLeaderTickSchedule checks the leader's tick, which skips to the next
// tick that has work, against counters that count every tick: heartbeats
// every heartbeat timeout of real ticks, and on every tick while a lease
// read is held; CheckQuorum rounds and the end of an unfinished transfer an
// election timeout of ticks after they began, quiesced ticks included, each
// acted on at the first real tick. The followers never answer, so the
// second CheckQuorum round deposes the leader, and a lease read made once
// the followers' first promise ran out stays held.
func TestLeaderTickSchedule(t *testing.T) {
	const heartbeatTick = 3
	for _, lease := range []bool{false, true} {
		for seed := range uint64(8) {
			t.Run(fmt.Sprintf("lease=%t/seed=%d", lease, seed), func(t *testing.T) {
				checkLeaderTickSchedule(t, heartbeatTick, lease, rand.New(rand.NewPCG(seed, 1)))
			})
		}
	}
}

// tickModel is what the leader of TestLeaderTickSchedule should do, by
// counters that count every tick.
type tickModel struct {
	heartbeatTick                      int
	sinceBeat, sinceRound, transferAge int
	rounds                             int
	transferring, held                 bool
}

// quiesced counts a quiesced tick: it moves every clock but the
// heartbeat's, and acts on none.
func (m *tickModel) quiesced() {
	m.sinceRound++
	if m.transferring {
		m.transferAge++
	}
}

// tick counts a tick and returns what the leader does at it: whether it
// steps down, whether it sends heartbeats, and the transferee it is left
// with.
func (m *tickModel) tick() (stepDown, beat bool, transferee uint64) {
	m.quiesced()
	m.sinceBeat++
	if m.sinceRound >= testElectionTick {
		m.sinceRound = 0
		if m.rounds++; m.rounds == 2 {
			return true, false, None
		}
	}
	if m.transferring && m.transferAge >= testElectionTick {
		m.transferring = false
	}
	if m.sinceBeat >= m.heartbeatTick || m.held {
		m.sinceBeat = 0
		beat = true
	}
	if m.transferring {
		transferee = 2
	}
	return false, beat, transferee
}

func checkLeaderTickSchedule(t *testing.T, heartbeatTick int, lease bool, rng *rand.Rand) {
	opts := []testOption{withCheckQuorum(), withConfig(func(c *Config) { c.HeartbeatTick = heartbeatTick })}
	if lease {
		opts = append(opts, withLeaseReads())
	}
	nodes, _ := leaderWithFollowers(t, 3, opts...)
	leader := nodes[0]
	model := tickModel{heartbeatTick: heartbeatTick}
	for step := 0; ; step++ {
		require.Less(t, step, 1000, "the leader never stepped down")
		switch rng.IntN(8) {
		case 0:
			leader.TickQuiesced()
			model.quiesced()
			require.False(t, leader.HasReady(), "step %d: got a Ready after a quiesced tick, want none", step)
			continue
		case 1:
			if !model.transferring {
				leader.TransferLeader(2)
				msgs := leader.process()
				require.Len(t, msgsOf(msgs, pb.MsgTimeoutNow, 2), 1, "step %d: got %v, want MsgTimeoutNow", step, msgTypes(msgs))
				model.transferring, model.transferAge = true, 0
			}
			continue
		case 2:
			if lease && !model.held {
				leader.ReadIndex([]byte("r"))
				leader.process()
				model.held = len(leader.raft.leading.lease.held) > 0
			}
			continue
		}
		leader.Tick()
		msgs := leader.process()
		stepDown, beat, transferee := model.tick()
		if stepDown {
			require.Equal(t, StateFollower, leader.raft.state, "step %d: got %v at the second quorum round, want follower", step, leader.raft.state)
			return
		}
		require.Equal(t, StateLeader, leader.raft.state, "step %d: got %v, want leader", step, leader.raft.state)
		require.Equal(t, transferee, leader.BasicStatus().LeadTransferee,
			"step %d: got transferee %d, want %d", step, leader.BasicStatus().LeadTransferee, transferee)
		got := len(msgsOf(msgs, pb.MsgHeartbeat, 2)) + len(msgsOf(msgs, pb.MsgHeartbeat, 3))
		want := 0
		if beat {
			want = 2
		}
		require.Equal(t, want, got, "step %d: got %d heartbeats, want %d (all sent: %v)", step, got, want, msgTypes(msgs))
	}
}
