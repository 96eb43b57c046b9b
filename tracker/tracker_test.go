package tracker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// member describes one node of a test tracker.
type member struct {
	id      uint64
	match   uint64
	active  bool
	learner bool
}

// makeTracker returns a tracker whose configuration is given by cs and which
// has a Progress for every member listed in prs.
func makeTracker(cs pb.ConfState, prs ...member) ProgressTracker {
	p := MakeProgressTracker(16, 0)
	p.Config = configFrom(cs)
	for _, m := range prs {
		p.Progress[m.id] = &Progress{
			Match: m.match, Next: m.match + 1, RecentActive: m.active, IsLearner: m.learner,
			Inflights: NewInflights(p.MaxInflight, p.MaxInflightBytes),
		}
	}
	return p
}

// configFrom builds the Config described by cs, with nil for empty sets
// except Voters[0], as MakeProgressTracker does.
func configFrom(cs pb.ConfState) Config {
	incoming := quorum.MajorityConfig(idSet(cs.Voters...))
	if incoming == nil {
		incoming = quorum.MajorityConfig{}
	}
	return Config{
		Voters:       quorum.JointConfig{incoming, idSet(cs.VotersOutgoing...)},
		Learners:     idSet(cs.Learners...),
		LearnersNext: idSet(cs.LearnersNext...),
		AutoLeave:    cs.AutoLeave,
	}
}

func TestMakeProgressTracker(t *testing.T) {
	p := MakeProgressTracker(7, 1024)
	assert.Equal(t, 7, p.MaxInflight)
	assert.Equal(t, uint64(1024), p.MaxInflightBytes)
	assert.NotNil(t, p.Voters[0])
	assert.Empty(t, p.Voters[0])
	assert.Nil(t, p.Voters[1])
	assert.Nil(t, p.Learners)
	assert.Nil(t, p.LearnersNext)
	assert.NotNil(t, p.Progress)
	assert.Empty(t, p.Progress)
	assert.NotNil(t, p.Votes)
	assert.Empty(t, p.Votes)
	assert.Equal(t, "voters=()", p.String())
	assert.Equal(t, pb.ConfState{}, p.ConfState())
}

func TestProgressTrackerConfState(t *testing.T) {
	for _, tt := range []struct {
		name string
		cs   pb.ConfState
	}{
		{name: "empty", cs: pb.ConfState{}},
		{name: "voters", cs: pb.ConfState{Voters: []uint64{1, 2, 3}}},
		{name: "voters and learners", cs: pb.ConfState{Voters: []uint64{1, 7}, Learners: []uint64{3, 4}}},
		{name: "joint", cs: pb.ConfState{
			Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{1, 2, 5},
			Learners: []uint64{4}, LearnersNext: []uint64{5}, AutoLeave: true,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := makeTracker(tt.cs)
			got := p.ConfState()
			assert.Equal(t, tt.cs, got, "ConfState of the tracker built from it")
			assert.Equal(t, p.Config, configFrom(got), "Config rebuilt from ConfState")
		})
	}
	t.Run("lists are sorted", func(t *testing.T) {
		p := MakeProgressTracker(1, 0)
		p.Voters[0] = quorum.MajorityConfig(idSet(30, 10, 20, 5, 1))
		p.Learners = idSet(9, 8, 7)
		got := p.ConfState()
		assert.Equal(t, []uint64{1, 5, 10, 20, 30}, got.Voters)
		assert.Equal(t, []uint64{7, 8, 9}, got.Learners)
	})
}

func TestProgressTrackerIsSingleton(t *testing.T) {
	for _, tt := range []struct {
		name string
		cs   pb.ConfState
		want bool
	}{
		{name: "no voters", cs: pb.ConfState{}, want: false},
		{name: "one voter", cs: pb.ConfState{Voters: []uint64{1}}, want: true},
		{name: "one voter and learners", cs: pb.ConfState{Voters: []uint64{1}, Learners: []uint64{2, 3}}, want: true},
		{name: "two voters", cs: pb.ConfState{Voters: []uint64{1, 2}}, want: false},
		{name: "joint one to one", cs: pb.ConfState{Voters: []uint64{1}, VotersOutgoing: []uint64{1}}, want: false},
		{name: "joint one to other", cs: pb.ConfState{Voters: []uint64{2}, VotersOutgoing: []uint64{1}}, want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := makeTracker(tt.cs)
			assert.Equal(t, tt.want, p.IsSingleton())
		})
	}
}

func TestProgressTrackerCommitted(t *testing.T) {
	for _, tt := range []struct {
		name string
		cs   pb.ConfState
		prs  []member
		want uint64
	}{{
		name: "single voter",
		cs:   pb.ConfState{Voters: []uint64{1}},
		prs:  []member{{id: 1, match: 7}},
		want: 7,
	}, {
		name: "median of three",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}},
		prs:  []member{{id: 1, match: 10}, {id: 2, match: 4}, {id: 3, match: 8}},
		want: 8,
	}, {
		name: "four voters need three",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3, 4}},
		prs:  []member{{id: 1, match: 10}, {id: 2, match: 4}, {id: 3, match: 8}, {id: 4, match: 9}},
		want: 8,
	}, {
		name: "learners do not count",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4, 5}},
		prs: []member{{id: 1, match: 10}, {id: 2, match: 4}, {id: 3, match: 3},
			{id: 4, match: 10, learner: true}, {id: 5, match: 10, learner: true}},
		want: 4,
	}, {
		name: "voter without progress counts as zero",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}},
		prs:  []member{{id: 1, match: 10}, {id: 2, match: 4}},
		want: 4,
	}, {
		name: "joint: outgoing half lags",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{1, 4, 5}},
		prs: []member{{id: 1, match: 10}, {id: 2, match: 9}, {id: 3, match: 8},
			{id: 4, match: 2}, {id: 5, match: 6}},
		want: 6,
	}, {
		name: "joint: incoming half lags",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{1, 4, 5}},
		prs: []member{{id: 1, match: 10}, {id: 2, match: 1}, {id: 3, match: 3},
			{id: 4, match: 9}, {id: 5, match: 8}},
		want: 3,
	}, {
		name: "joint with a demoted voter still counting in the outgoing half",
		cs: pb.ConfState{Voters: []uint64{1, 2}, VotersOutgoing: []uint64{1, 2, 3},
			LearnersNext: []uint64{3}},
		prs:  []member{{id: 1, match: 10}, {id: 2, match: 5}, {id: 3, match: 7}},
		want: 5,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			p := makeTracker(tt.cs, tt.prs...)
			assert.Equal(t, tt.want, p.Committed())
		})
	}
}

// naiveCommitted computes the committed index the obvious way: the highest
// index acknowledged by a majority of each non-empty half, found by sorting.
func naiveCommitted(p *ProgressTracker) uint64 {
	result := ^uint64(0)
	for _, half := range p.Voters {
		if len(half) == 0 {
			continue
		}
		var acked []uint64
		for id := range half {
			var m uint64
			if pr, ok := p.Progress[id]; ok {
				m = pr.Match
			}
			acked = append(acked, m)
		}
		slices.Sort(acked)
		slices.Reverse(acked)
		result = min(result, acked[len(acked)/2])
	}
	return result
}

func TestProgressTrackerCommittedModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		var cs pb.ConfState
		var prs []member
		for id := uint64(1); id <= 9; id++ {
			switch rng.IntN(5) {
			case 0:
				continue
			case 1:
				cs.Voters = append(cs.Voters, id)
			case 2:
				cs.VotersOutgoing = append(cs.VotersOutgoing, id)
			case 3:
				cs.Voters = append(cs.Voters, id)
				cs.VotersOutgoing = append(cs.VotersOutgoing, id)
			case 4:
				cs.Learners = append(cs.Learners, id)
			}
			prs = append(prs, member{id: id, match: rng.Uint64N(20), learner: slices.Contains(cs.Learners, id)})
		}
		p := makeTracker(cs, prs...)
		require.Equal(t, naiveCommitted(&p), p.Committed(), "config %s progress\n%s", p.Config, p.Progress)
	}
}

func TestProgressTrackerQuorumActive(t *testing.T) {
	for _, tt := range []struct {
		name string
		cs   pb.ConfState
		prs  []member
		want bool
	}{{
		name: "majority active",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}},
		prs:  []member{{id: 1, active: true}, {id: 2, active: true}, {id: 3}},
		want: true,
	}, {
		name: "minority active",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}},
		prs:  []member{{id: 1, active: true}, {id: 2}, {id: 3}},
		want: false,
	}, {
		name: "active learners do not help",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4, 5}},
		prs: []member{{id: 1, active: true}, {id: 2}, {id: 3},
			{id: 4, active: true, learner: true}, {id: 5, active: true, learner: true}},
		want: false,
	}, {
		name: "a voter being demoted counts in the outgoing half",
		cs: pb.ConfState{Voters: []uint64{1, 2}, VotersOutgoing: []uint64{1, 2, 3, 4, 5},
			LearnersNext: []uint64{3}},
		prs: []member{{id: 1, active: true}, {id: 2, active: true}, {id: 3, active: true},
			{id: 4}, {id: 5}},
		want: true,
	}, {
		name: "joint: both halves active",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{3, 4, 5}},
		prs: []member{{id: 1, active: true}, {id: 2, active: true}, {id: 3, active: true},
			{id: 4, active: true}, {id: 5}},
		want: true,
	}, {
		name: "joint: outgoing half inactive",
		cs:   pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{3, 4, 5}},
		prs: []member{{id: 1, active: true}, {id: 2, active: true}, {id: 3, active: true},
			{id: 4}, {id: 5}},
		want: false,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			p := makeTracker(tt.cs, tt.prs...)
			assert.Equal(t, tt.want, p.QuorumActive())
		})
	}
}

func TestProgressTrackerRecordVote(t *testing.T) {
	voters := threeVotersOneLearner
	prs := []member{{id: 1}, {id: 2}, {id: 3}, {id: 4, learner: true}}

	t.Run("first vote wins", func(t *testing.T) {
		p := makeTracker(voters, prs...)
		p.RecordVote(2, false)
		p.RecordVote(2, true)
		p.RecordVote(3, true)
		p.RecordVote(3, false)
		assert.Equal(t, map[uint64]bool{2: false, 3: true}, p.Votes)
	})
	t.Run("reset forgets votes and leaves the old map alone", func(t *testing.T) {
		p := makeTracker(voters, prs...)
		p.RecordVote(1, true)
		old := p.Votes
		p.ResetVotes()
		assert.Empty(t, p.Votes)
		assert.Equal(t, map[uint64]bool{1: true}, old)
		p.RecordVote(1, false)
		assert.Equal(t, map[uint64]bool{1: false}, p.Votes, "a new term takes a new vote")
	})
}

// tallyVotesCases are the elections TestProgressTrackerTallyVotes counts: every
// voter (of either half) and learner of cs has a Progress, and votes are
// recorded in map order.
// threeVotersOneLearner is the configuration most vote tests start from.
var threeVotersOneLearner = pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}

var tallyVotesCases = []struct {
	name         string
	cs           pb.ConfState
	votes        map[uint64]bool
	wantGranted  int
	wantRejected int
	want         quorum.VoteResult
}{{
	name: "no votes", cs: threeVotersOneLearner, votes: nil,
	want: quorum.VotePending,
}, {
	name: "won", cs: threeVotersOneLearner, votes: map[uint64]bool{1: true, 3: true},
	wantGranted: 2, want: quorum.VoteWon,
}, {
	name: "lost", cs: threeVotersOneLearner, votes: map[uint64]bool{1: true, 2: false, 3: false},
	wantGranted: 1, wantRejected: 2, want: quorum.VoteLost,
}, {
	name: "learner votes are not counted", cs: threeVotersOneLearner, votes: map[uint64]bool{1: true, 4: true},
	wantGranted: 1, want: quorum.VotePending,
}, {
	name: "learner rejections are not counted", cs: threeVotersOneLearner, votes: map[uint64]bool{1: true, 2: true, 4: false},
	wantGranted: 2, want: quorum.VoteWon,
}, {
	name: "votes of unknown nodes are not counted", cs: threeVotersOneLearner, votes: map[uint64]bool{1: true, 9: true},
	wantGranted: 1, want: quorum.VotePending,
}, {
	name:  "joint: won in incoming only is pending",
	cs:    pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{4, 5, 6}},
	votes: map[uint64]bool{1: true, 2: true, 4: true},
	want:  quorum.VotePending, wantGranted: 3,
}, {
	name:  "joint: lost in outgoing is lost",
	cs:    pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{4, 5, 6}},
	votes: map[uint64]bool{1: true, 2: true, 4: false, 5: false},
	want:  quorum.VoteLost, wantGranted: 2, wantRejected: 2,
}, {
	name:  "joint: a voter in both halves is counted once",
	cs:    pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{1, 4, 5}},
	votes: map[uint64]bool{1: true, 2: true, 4: true},
	want:  quorum.VoteWon, wantGranted: 3,
}, {
	name: "joint: a voter being demoted still counts",
	cs: pb.ConfState{Voters: []uint64{1, 2}, VotersOutgoing: []uint64{1, 2, 3},
		LearnersNext: []uint64{3}},
	votes: map[uint64]bool{1: true, 3: false},
	want:  quorum.VotePending, wantGranted: 1, wantRejected: 1,
}}

func TestProgressTrackerTallyVotes(t *testing.T) {
	for _, tt := range tallyVotesCases {
		t.Run(tt.name, func(t *testing.T) {
			var prs []member
			for _, ids := range [][]uint64{tt.cs.Voters, tt.cs.VotersOutgoing} {
				for _, id := range ids {
					prs = append(prs, member{id: id})
				}
			}
			for _, id := range tt.cs.Learners {
				prs = append(prs, member{id: id, learner: true})
			}
			p := makeTracker(tt.cs, prs...)
			for id, v := range tt.votes {
				p.RecordVote(id, v)
			}
			granted, rejected, result := p.TallyVotes()
			assert.Equal(t, tt.wantGranted, granted, "granted")
			assert.Equal(t, tt.wantRejected, rejected, "rejected")
			assert.Equal(t, tt.want, result, "result")
		})
	}
}

func TestProgressTrackerVisit(t *testing.T) {
	for _, n := range []int{0, 1, 5, visitStackIDs, visitStackIDs + 1, 100} {
		t.Run(fmt.Sprintf("members=%d", n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 0))
			p := MakeProgressTracker(1, 0)
			var want []uint64
			for len(p.Progress) < n {
				id := 1 + rng.Uint64N(1000)
				if _, ok := p.Progress[id]; !ok {
					p.Progress[id] = &Progress{Match: id}
					want = append(want, id)
				}
			}
			slices.Sort(want)
			var got []uint64
			p.Visit(func(id uint64, pr *Progress) {
				require.Equal(t, id, pr.Match, "progress passed for id %d", id)
				got = append(got, id)
				pr.Next = id + 1
			})
			assert.Equal(t, want, got)
			for id, pr := range p.Progress {
				assert.Equal(t, id+1, pr.Next, "f modified the Progress of %d in place", id)
			}
		})
	}
}

func TestProgressTrackerNodes(t *testing.T) {
	for _, tt := range []struct {
		name         string
		cs           pb.ConfState
		wantVoters   []uint64
		wantLearners []uint64
	}{
		{name: "empty", cs: pb.ConfState{}, wantVoters: []uint64{}, wantLearners: nil},
		{name: "voters", cs: pb.ConfState{Voters: []uint64{3, 1, 2}}, wantVoters: []uint64{1, 2, 3}},
		{
			name:       "joint voters are merged without duplicates",
			cs:         pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{5, 3, 1}, LearnersNext: []uint64{5}},
			wantVoters: []uint64{1, 2, 3, 5},
		},
		{
			name:         "learners",
			cs:           pb.ConfState{Voters: []uint64{1}, Learners: []uint64{9, 4}},
			wantVoters:   []uint64{1},
			wantLearners: []uint64{4, 9},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := makeTracker(tt.cs)
			assert.Equal(t, tt.wantVoters, p.VoterNodes(), "VoterNodes")
			assert.Equal(t, tt.wantLearners, p.LearnerNodes(), "LearnerNodes")
		})
	}
}

func TestProgressTrackerDoesNotAllocate(t *testing.T) {
	// quorum.MajorityConfig.CommittedIndex documents no allocations for up
	// to 16 voters; Visit orders up to visitStackIDs members on the stack.
	for _, n := range []int{1, 3, 7, 16} {
		t.Run(fmt.Sprintf("Committed with %d voters", n), func(t *testing.T) {
			p := benchTracker(n)
			if got := testing.AllocsPerRun(50, func() { p.Committed() }); got != 0 {
				t.Errorf("got %v allocs per run, want 0", got)
			}
		})
	}
	for _, n := range []int{0, 1, 3, 7, visitStackIDs} {
		t.Run(fmt.Sprintf("Visit of %d members", n), func(t *testing.T) {
			p := benchTracker(n)
			if got := testing.AllocsPerRun(50, func() { p.Visit(func(uint64, *Progress) {}) }); got != 0 {
				t.Errorf("got %v allocs per run, want 0", got)
			}
		})
	}
}

// benchTracker returns a tracker with voters 1..n whose Match values are a
// shuffled permutation.
func benchTracker(n int) ProgressTracker {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	var cs pb.ConfState
	var prs []member
	for i, m := range rng.Perm(n) {
		id := uint64(i + 1)
		cs.Voters = append(cs.Voters, id)
		prs = append(prs, member{id: id, match: uint64(100 + m), active: true})
	}
	return makeTracker(cs, prs...)
}

func BenchmarkProgressTrackerCommitted(b *testing.B) {
	for _, n := range []int{1, 3, 5, 7} {
		b.Run(fmt.Sprintf("voters=%d", n), func(b *testing.B) {
			p := benchTracker(n)
			b.ReportAllocs()
			for b.Loop() {
				p.Committed()
			}
		})
	}
	b.Run("joint=5&&5", func(b *testing.B) {
		p := benchTracker(7)
		p.Voters = quorum.JointConfig{
			quorum.MajorityConfig(idSet(1, 2, 3, 4, 5)),
			quorum.MajorityConfig(idSet(3, 4, 5, 6, 7)),
		}
		b.ReportAllocs()
		for b.Loop() {
			p.Committed()
		}
	})
}

func BenchmarkProgressTrackerVisit(b *testing.B) {
	for _, n := range []int{3, 7, visitStackIDs, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			p := benchTracker(n)
			var sum uint64
			b.ReportAllocs()
			for b.Loop() {
				p.Visit(func(_ uint64, pr *Progress) { sum += pr.Match })
			}
			if sum == 0 {
				b.Fatal("visited nothing")
			}
		})
	}
}
