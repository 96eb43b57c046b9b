package confchange

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/quorum"
	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// operation is one Changer call, as used by the table tests.
type operation func(Changer) (tracker.Config, tracker.ProgressMap, error)

func simpleOp(ccs ...raftpb.ConfChangeSingle) operation {
	return func(c Changer) (tracker.Config, tracker.ProgressMap, error) { return c.Simple(ccs...) }
}

func enterJointOp(autoLeave bool, ccs ...raftpb.ConfChangeSingle) operation {
	return func(c Changer) (tracker.Config, tracker.ProgressMap, error) { return c.EnterJoint(autoLeave, ccs...) }
}

func leaveJointOp() operation {
	return func(c Changer) (tracker.Config, tracker.ProgressMap, error) { return c.LeaveJoint() }
}

// Configurations the tests start from.
var (
	threeVoters      = raftpb.ConfState{Voters: []uint64{1, 2, 3}}
	votersAndLearner = raftpb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}
	jointWithNext    = raftpb.ConfState{
		Voters: []uint64{1, 2}, VotersOutgoing: []uint64{1, 2, 3},
		Learners: []uint64{4}, LearnersNext: []uint64{3}, AutoLeave: true,
	}
)

// unknownChange is a change whose type is none of raftpb's.
var unknownChange = raftpb.ConfChangeSingle{Type: 7, NodeID: 5}

// operationErrorCases are the refused operations TestOperationErrors checks,
// each from a valid starting configuration.
var operationErrorCases = []struct {
	name    string
	start   raftpb.ConfState
	op      operation
	wantErr string
}{
	{
		name: "simple in a joint config", start: jointWithNext,
		op:      simpleOp(raftpb.ConfChangeSingle{Type: raftpb.ConfChangeAddNode, NodeID: 5}),
		wantErr: "simple change refused: the config is joint (voters=(1 2)&&(1 2 3) learners=(4) learners_next=(3) autoleave)",
	},
	{
		name: "simple adding two voters", start: threeVoters,
		op:      simpleOp(changesOf("v4 v5")...),
		wantErr: "simple change refused: it changes 2 voters, (1 2 3) to (1 2 3 4 5), and more than one needs a joint config",
	},
	{
		name: "simple swapping a voter", start: threeVoters,
		op:      simpleOp(changesOf("r1 v4")...),
		wantErr: "simple change refused: it changes 2 voters, (1 2 3) to (2 3 4), and more than one needs a joint config",
	},
	{
		name: "simple promoting and demoting", start: votersAndLearner,
		op:      simpleOp(changesOf("v4 l1")...),
		wantErr: "simple change refused: it changes 2 voters, (1 2 3) to (2 3 4), and more than one needs a joint config",
	},
	{
		name: "simple removing all voters", start: raftpb.ConfState{Voters: []uint64{1}},
		op:      simpleOp(changesOf("r1")...),
		wantErr: "simple change refused: no voter of (1) would remain",
	},
	{
		name: "simple with an unknown change type", start: threeVoters,
		op:      simpleOp(unknownChange),
		wantErr: "simple change refused: node 5 has unknown conf change type 7",
	},
	{
		name: "enter joint twice", start: jointWithNext,
		op:      enterJointOp(false),
		wantErr: "entering joint config refused: the config is already joint (voters=(1 2)&&(1 2 3) learners=(4) learners_next=(3) autoleave)",
	},
	{
		name: "enter joint from no voters", start: raftpb.ConfState{},
		op:      enterJointOp(true, changesOf("v1")...),
		wantErr: "entering joint config refused: the config has no voters (voters=())",
	},
	{
		name: "enter joint removing all voters", start: threeVoters,
		op:      enterJointOp(false, changesOf("r1 l2 r3 l4")...),
		wantErr: "entering joint config refused: no voter of (1 2 3) would remain",
	},
	{
		name: "enter joint with an unknown change type", start: threeVoters,
		op:      enterJointOp(false, unknownChange),
		wantErr: "entering joint config refused: node 5 has unknown conf change type 7",
	},
	{
		name: "leave a non-joint config", start: votersAndLearner,
		op:      leaveJointOp(),
		wantErr: "leaving joint config refused: the config is not joint (voters=(1 2 3) learners=(4))",
	},
	{
		name: "leave an empty config", start: raftpb.ConfState{},
		op:      leaveJointOp(),
		wantErr: "leaving joint config refused: the config is not joint (voters=())",
	},
}

// TestOperationErrors checks the message of every error an operation returns
// for a valid starting configuration, and that the input is left untouched.
func TestOperationErrors(t *testing.T) {
	for _, tc := range operationErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			chg := newChanger(t, tc.start)
			before := takeSnapshot(chg.Tracker)
			cfg, prs, err := tc.op(chg)
			require.EqualError(t, err, tc.wantErr)
			require.Equal(t, tracker.Config{}, cfg)
			require.Nil(t, prs)
			requireUnchanged(t, before, chg.Tracker)
		})
	}
}

// ids, voter and learner build the sets and progress of invalidConfigCases.
func ids(list ...uint64) map[uint64]struct{} { return idSet(list) }
func voter() *tracker.Progress               { return &tracker.Progress{Next: 1} }
func learner() *tracker.Progress             { return &tracker.Progress{Next: 1, IsLearner: true} }

// invalidConfigCases are the inconsistent configurations TestInvalidInput
// hands to every operation, one per rule of checkInvariants.
var invalidConfigCases = []struct {
	name    string
	cfg     tracker.Config
	prs     tracker.ProgressMap
	wantErr string
}{
	{
		name:    "nil progress",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1, 2)}},
		prs:     tracker.ProgressMap{1: voter(), 2: nil},
		wantErr: "node 2 has a nil progress",
	},
	{
		name:    "progress of an unknown node",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1)}},
		prs:     tracker.ProgressMap{1: voter(), 3: voter(), 2: voter()},
		wantErr: "node 2 has a progress but is neither voter nor learner",
	},
	{
		name:    "incoming voter without progress",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1, 2)}},
		prs:     tracker.ProgressMap{1: voter()},
		wantErr: "node 2 is a voter but has no progress",
	},
	{
		name:    "outgoing voter without progress",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1), ids(1, 3)}},
		prs:     tracker.ProgressMap{1: voter()},
		wantErr: "node 3 is a voter but has no progress",
	},
	{
		name:    "voter marked as learner",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1, 2)}},
		prs:     tracker.ProgressMap{1: voter(), 2: learner()},
		wantErr: "node 2 is a voter but its progress is marked as a learner",
	},
	{
		name:    "learner without progress",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1)}, Learners: ids(2)},
		prs:     tracker.ProgressMap{1: voter()},
		wantErr: "node 2 is a learner but has no progress",
	},
	{
		name:    "learner that is an incoming voter",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1, 2)}, Learners: ids(2)},
		prs:     tracker.ProgressMap{1: voter(), 2: voter()},
		wantErr: "node 2 is both a learner and an incoming voter",
	},
	{
		name:    "learner that is an outgoing voter",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1), ids(1, 2)}, Learners: ids(2)},
		prs:     tracker.ProgressMap{1: voter(), 2: voter()},
		wantErr: "node 2 is both a learner and an outgoing voter",
	},
	{
		name:    "learner not marked as learner",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1)}, Learners: ids(2)},
		prs:     tracker.ProgressMap{1: voter(), 2: voter()},
		wantErr: "node 2 is a learner but its progress is not marked as a learner",
	},
	{
		name:    "LearnersNext without progress",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1)}, LearnersNext: ids(2)},
		prs:     tracker.ProgressMap{1: voter()},
		wantErr: "node 2 is in LearnersNext but has no progress",
	},
	{
		name:    "LearnersNext that is not an outgoing voter",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1), ids(1)}, Learners: ids(2), LearnersNext: ids(2)},
		prs:     tracker.ProgressMap{1: voter(), 2: learner()},
		wantErr: "node 2 is in LearnersNext but is not an outgoing voter",
	},
	{
		name:    "LearnersNext that is an incoming voter",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1, 2), ids(1, 2)}, LearnersNext: ids(2)},
		prs:     tracker.ProgressMap{1: voter(), 2: voter()},
		wantErr: "node 2 is both in LearnersNext and an incoming voter",
	},
	{
		name:    "AutoLeave outside a joint config",
		cfg:     tracker.Config{Voters: quorum.JointConfig{ids(1)}, AutoLeave: true},
		prs:     tracker.ProgressMap{1: voter()},
		wantErr: "AutoLeave is set but the config is not joint",
	},
}

// TestInvalidInput checks that every operation refuses to start from a
// configuration that breaks an invariant, naming the broken rule.
func TestInvalidInput(t *testing.T) {
	for _, tc := range invalidConfigCases {
		ops := map[string]operation{
			"Simple":     simpleOp(),
			"EnterJoint": enterJointOp(false),
			"LeaveJoint": leaveJointOp(),
		}
		for opName, op := range ops {
			t.Run(tc.name+"/"+opName, func(t *testing.T) {
				chg := Changer{Tracker: tracker.MakeProgressTracker(8, 0)}
				chg.Tracker.Config, chg.Tracker.Progress = tc.cfg, tc.prs
				before := takeSnapshot(chg.Tracker)
				cfg, prs, err := op(chg)
				require.EqualError(t, err, "invalid config before change: "+tc.wantErr)
				require.Equal(t, tracker.Config{}, cfg)
				require.Nil(t, prs)
				requireUnchanged(t, before, chg.Tracker)
			})
		}
	}
}

// TestCopyOnWrite checks that successful operations leave the input alone,
// share exactly the Progress entries they did not change, and return maps
// that the caller can modify without affecting the input.
func TestCopyOnWrite(t *testing.T) {
	for _, tc := range []struct {
		name        string
		start       raftpb.ConfState
		op          operation
		wantChanged []uint64 // ids whose Progress must be a new copy
	}{
		{name: "simple add", start: threeVoters, op: simpleOp(changesOf("v5")...), wantChanged: []uint64{5}},
		{name: "simple promote", start: votersAndLearner, op: simpleOp(changesOf("v4")...), wantChanged: []uint64{4}},
		{name: "simple demote", start: threeVoters, op: simpleOp(changesOf("l2")...), wantChanged: []uint64{2}},
		{name: "simple repeated add", start: votersAndLearner, op: simpleOp(changesOf("v1 l4")...)},
		{name: "simple remove", start: votersAndLearner, op: simpleOp(changesOf("r4 r3")...)},
		{
			name: "enter joint demoting into LearnersNext", start: votersAndLearner,
			op: enterJointOp(true, changesOf("l1 v4")...), wantChanged: []uint64{4},
		},
		{name: "leave joint", start: jointWithNext, op: leaveJointOp(), wantChanged: []uint64{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chg := newChanger(t, tc.start)
			before := takeSnapshot(chg.Tracker)
			cfg, prs, err := tc.op(chg)
			require.NoError(t, err)
			requireUnchanged(t, before, chg.Tracker)

			changed := map[uint64]bool{}
			for _, id := range tc.wantChanged {
				changed[id] = true
			}
			for id, pr := range prs {
				orig, inInput := chg.Tracker.Progress[id]
				if changed[id] {
					require.NotSame(t, orig, pr, "progress of node %d is shared with the input", id)
				} else {
					require.True(t, inInput, "node %d was added unexpectedly", id)
					require.Same(t, orig, pr, "progress of node %d was copied needlessly", id)
				}
			}

			// Scribble over everything returned; the input must not notice.
			cfg.Voters[0][99] = struct{}{}
			cfg.Voters[1] = quorum.MajorityConfig{99: {}}
			cfg.Learners = map[uint64]struct{}{98: {}}
			cfg.LearnersNext = map[uint64]struct{}{99: {}}
			for _, id := range tc.wantChanged {
				prs[id].IsLearner = !prs[id].IsLearner
			}
			prs[99] = &tracker.Progress{}
			requireUnchanged(t, before, chg.Tracker)
		})
	}
}

// TestAddedProgress checks the Progress given to nodes that a change adds.
func TestAddedProgress(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lastIndex uint64
		ccs       string
		id        uint64
		want      tracker.Progress
	}{
		{
			name: "voter with an empty log", lastIndex: 0, ccs: "v5", id: 5,
			want: tracker.Progress{Next: 1, RecentActive: true, Inflights: tracker.NewInflights(8, 1024)},
		},
		{
			name: "voter", lastIndex: 10, ccs: "v5", id: 5,
			want: tracker.Progress{Next: 10, RecentActive: true, Inflights: tracker.NewInflights(8, 1024)},
		},
		{
			name: "learner", lastIndex: 7, ccs: "l5", id: 5,
			want: tracker.Progress{Next: 7, RecentActive: true, IsLearner: true, Inflights: tracker.NewInflights(8, 1024)},
		},
		{
			name: "voter removed and added back", lastIndex: 12, ccs: "r3 v3", id: 3,
			want: tracker.Progress{Next: 12, RecentActive: true, Inflights: tracker.NewInflights(8, 1024)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chg := newChanger(t, threeVoters)
			chg.Tracker.MaxInflight, chg.Tracker.MaxInflightBytes = 8, 1024
			chg.LastIndex = tc.lastIndex
			_, prs, err := chg.Simple(changesOf(tc.ccs)...)
			require.NoError(t, err)
			require.NotNil(t, prs[tc.id])
			require.Equal(t, tc.want, *prs[tc.id])
		})
	}
}

// TestNodeZeroIgnored checks that changes for node 0 are skipped rather than
// rejected, in every kind of change.
func TestNodeZeroIgnored(t *testing.T) {
	zero := []raftpb.ConfChangeSingle{
		{Type: raftpb.ConfChangeAddNode}, {Type: raftpb.ConfChangeAddLearnerNode},
		{Type: raftpb.ConfChangeRemoveNode}, {Type: raftpb.ConfChangeUpdateNode},
	}
	chg := newChanger(t, votersAndLearner)
	cfg, prs, err := chg.Simple(zero...)
	require.NoError(t, err)
	require.Equal(t, chg.Tracker.Config, cfg)
	require.Equal(t, chg.Tracker.Progress, prs)
}
