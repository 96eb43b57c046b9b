package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// stalledDiskPair is peers 1 and 2 of the group {1, 2}: 1 with
// AsyncStorageWrites and an append thread that runs only when told, 2
// without. Messages wait in net until delivered.
type stalledDiskPair struct {
	t       *testing.T
	rn      [3]*RawNode
	ms      [3]*MemoryStorage
	appends []pb.Message // peer 1's append thread's queue
	net     []pb.Message
}

func newStalledDiskPair(t *testing.T) *stalledDiskPair {
	p := &stalledDiskPair{t: t}
	for id := uint64(1); id <= 2; id++ {
		p.ms[id] = newConfStorage([]uint64{1, 2})
		p.start(id)
	}
	return p
}

// start (re)starts peer id on what its storage holds.
func (p *stalledDiskPair) start(id uint64) {
	c := newTestConfig(id, p.ms[id])
	c.AsyncStorageWrites = id == 1
	rn, err := NewRawNode(c)
	require.NoError(p.t, err)
	p.rn[id] = rn
}

// apply applies committed entries, configuration changes included.
func (p *stalledDiskPair) apply(id uint64, ents []pb.Entry) {
	for _, e := range ents {
		if cc, err := decodeConfChange(e); err == nil && isConfChange(&e) {
			p.rn[id].ApplyConfChange(cc)
		}
	}
}

// ready handles peer id's Readies. Peer 1's writes queue up for its append
// thread; its applications are done at once.
func (p *stalledDiskPair) ready(id uint64) {
	rn := p.rn[id]
	for rn.HasReady() {
		rd := rn.Ready()
		if id == 2 {
			require.NoError(p.t, p.ms[2].Append(rd.Entries))
			if !IsEmptyHardState(rd.HardState) {
				require.NoError(p.t, p.ms[2].SetHardState(rd.HardState))
			}
			p.net = append(p.net, rd.Messages...)
			p.apply(2, rd.CommittedEntries)
			rn.Advance(rd)
			continue
		}
		for _, m := range rd.Messages {
			switch m.To {
			case LocalAppendThread:
				p.appends = append(p.appends, m)
			case LocalApplyThread:
				p.apply(1, m.Entries)
				for _, r := range m.Responses {
					require.NoError(p.t, rn.Step(r))
				}
			default:
				p.net = append(p.net, m)
			}
		}
	}
}

// write runs peer 1's append thread through its queue.
func (p *stalledDiskPair) write() {
	for len(p.appends) > 0 {
		m := p.appends[0]
		p.appends = p.appends[1:]
		require.NoError(p.t, p.ms[1].Append(m.Entries))
		if hs := (pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}); !IsEmptyHardState(hs) {
			require.NoError(p.t, p.ms[1].SetHardState(hs))
		}
		for _, r := range m.Responses {
			if r.To == 1 {
				require.NoError(p.t, p.rn[1].Step(r))
			} else {
				p.net = append(p.net, r)
			}
		}
		p.ready(1)
	}
}

// deliver delivers the messages in flight, and those they cause, until
// none is left.
func (p *stalledDiskPair) deliver() {
	for len(p.net) > 0 {
		m := p.net[0]
		p.net = p.net[1:]
		_ = p.rn[m.To].Step(m)
		p.ready(m.To)
	}
}

func (p *stalledDiskPair) settle() {
	for len(p.appends) > 0 || len(p.net) > 0 {
		p.write()
		p.deliver()
	}
}

// TestDemotedFollowerOfAsyncLeaderKeepsGroupElectable is the regression
// test for the stall the mixed-cluster simulation found (seed 100959): a
// follower learned from a leader with AsyncStorageWrites that its own
// demotion was committed before the leader's disk had that commit index;
// the leader crashed, restarted in the configuration before the change,
// needing the follower's vote, which the follower - a learner in its own
// view, with a longer log - never gave, nor did it campaign.
func TestDemotedFollowerOfAsyncLeaderKeepsGroupElectable(t *testing.T) {
	p := newStalledDiskPair(t)
	require.NoError(t, p.rn[1].Campaign())
	p.ready(1)
	p.settle()
	require.Equal(t, StateLeader, p.rn[1].raft.state, "got peer 1 %v after its campaign, want leader", p.rn[1].raft.state)

	// Demote 2; the change is durable on the leader and acknowledged by 2,
	// so the leader commits it...
	require.NoError(t, p.rn[1].ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 2}))
	p.ready(1)
	p.write()
	p.deliver()
	// ...but its disk stalls from here on: neither the commit index nor
	// the next entry reaches it, while its messages go out and it ticks.
	require.NoError(t, p.rn[1].Propose([]byte("x")))
	p.ready(1)
	p.deliver()
	for range 30 {
		p.rn[1].Tick()
		p.ready(1)
		p.deliver()
	}
	// Peer 1 crashes, losing what its disk did not get, and restarts.
	p.appends, p.net = nil, nil
	p.start(1)
	p.ready(1)
	p.settle()

	elected := false
	for i := 0; i < 500 && !elected; i++ {
		for id := uint64(1); id <= 2; id++ {
			p.rn[id].Tick()
			p.ready(id)
		}
		p.settle()
		elected = p.rn[1].raft.state == StateLeader || p.rn[2].raft.state == StateLeader
	}
	require.True(t, elected, "got no leader within 500 ticks after the restart: peer 1 %+v, peer 2 %+v",
		p.rn[1].BasicStatus(), p.rn[2].BasicStatus())
}

func TestLeaderDepartures(t *testing.T) {
	t.Run("a change taking a follower out of the voters makes it one", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withAsyncWrites())
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 3})
		l := nodes[0].raft.leading
		require.Len(t, l.departing(), 1, "got departures %v, want follower 3's", l.departing())
		require.Equal(t, uint64(3), l.departing()[0].id)
		t.Run("and one making it a voter again forgets it", func(t *testing.T) {
			nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 3})
			require.Empty(t, l.departing(), "got departures %v after 3 was promoted back", l.departing())
		})
	})
	t.Run("messages to a departing follower", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3, withAsyncWrites())
		r := nodes[0].raft
		for _, tc := range []struct {
			name       string
			d          departure
			m          pb.Message
			wait       bool
			wantCommit uint64
		}{
			{"a staying leader's commit at the change waits for its writes",
				departure{id: 3, index: 10, stays: true}, pb.Message{Type: pb.MsgApp, To: 3, Commit: 10}, true, 10},
			{"so does its heartbeat past it",
				departure{id: 3, index: 10, stays: true}, pb.Message{Type: pb.MsgHeartbeat, To: 3, Commit: 11}, true, 11},
			{"a commit before the change goes at once",
				departure{id: 3, index: 10, stays: true}, pb.Message{Type: pb.MsgApp, To: 3, Commit: 9}, false, 9},
			{"another follower's goes at once",
				departure{id: 3, index: 10, stays: true}, pb.Message{Type: pb.MsgApp, To: 2, Commit: 10}, false, 10},
			{"a leaving leader tells a commit below the change until settled",
				departure{id: 3, index: 10}, pb.Message{Type: pb.MsgApp, To: 3, Commit: 12}, false, 9},
			{"and the real one once settled",
				departure{id: 3, index: 10, settled: true}, pb.Message{Type: pb.MsgApp, To: 3, Commit: 12}, false, 12},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r.leading.setDepartures([]departure{tc.d})
				m := tc.m
				wait := r.shapeForDeparture(&m)
				assert.Equal(t, tc.wait, wait, "got wait %v, want %v", wait, tc.wait)
				assert.Equal(t, tc.wantCommit, m.Commit, "got commit %d, want %d", m.Commit, tc.wantCommit)
			})
		}
		r.leading.setDepartures([]departure{{id: 3, index: 10}})
		assert.True(t, r.leading.withholdsSnapshot(3, 10), "got a snapshot past the change sent before it settled")
		assert.False(t, r.leading.withholdsSnapshot(3, 9), "got a snapshot before the change withheld")
		r.leading.setDepartures(nil)
	})
	t.Run("a new leader inherits the departures of its unapplied log", func(t *testing.T) {
		s := newConfStorage([]uint64{1, 2, 3})
		data, err := (&pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 3}).Marshal()
		require.NoError(t, err)
		require.NoError(t, s.Append([]pb.Entry{{Index: 1, Term: 1}, {Index: 2, Term: 1, Type: pb.EntryConfChange, Data: data}}))
		require.NoError(t, s.SetHardState(pb.HardState{Term: 1, Commit: 1}))
		r := newTestNode(t, 1, s, withAsyncWrites()).raft
		r.becomeCandidate()
		r.becomeLeader()
		require.Len(t, r.leading.departing(), 1, "got departures %v, want 3's", r.leading.departing())
		d := r.leading.departing()[0]
		assert.Equal(t, uint64(3), d.id)
		assert.Equal(t, uint64(2), d.index)
		assert.True(t, d.stays, "got the leader leaving, want it in the new configuration")
	})
}
