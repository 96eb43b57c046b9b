package quorum

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIndexString(t *testing.T) {
	for _, tc := range []struct {
		name string
		idx  Index
		want string
	}{
		{"zero", 0, "0"},
		{"small", 42, "42"},
		{"largest finite", math.MaxUint64 - 1, "18446744073709551614"},
		{"infinity", math.MaxUint64, "∞"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.idx.String()
			assert.Equal(t, tc.want, got, "got %v, want %v", got, tc.want)
		})
	}
}

func TestVoteResultString(t *testing.T) {
	for _, tc := range []struct {
		v    VoteResult
		want string
	}{
		{VotePending, "VotePending"},
		{VoteLost, "VoteLost"},
		{VoteWon, "VoteWon"},
		{0, "VoteResult(0)"},
		{7, "VoteResult(7)"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			got := tc.v.String()
			assert.Equal(t, tc.want, got, "got %v, want %v", got, tc.want)
		})
	}
}

func TestMajorityConfigStringAndSlice(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       MajorityConfig
		wantStr   string
		wantSlice []uint64
	}{
		{"nil", nil, "()", nil},
		{"empty", MajorityConfig{}, "()", nil},
		{"single", majorityOf(7), "(7)", []uint64{7}},
		{"sorted numerically", majorityOf(10, 2, 33, 1), "(1 2 10 33)", []uint64{1, 2, 10, 33}},
		{"huge id", majorityOf(math.MaxUint64, 0), "(0 18446744073709551615)", []uint64{0, math.MaxUint64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotStr := tc.cfg.String()
			assert.Equal(t, tc.wantStr, gotStr, "String: got %v, want %v", gotStr, tc.wantStr)
			gotSlice := tc.cfg.Slice()
			assert.Equal(t, tc.wantSlice, gotSlice, "Slice: got %v, want %v", gotSlice, tc.wantSlice)
		})
	}
}

func TestMajorityConfigSliceIsCallerOwned(t *testing.T) {
	cfg := majorityOf(1, 2, 3)
	s := cfg.Slice()
	s[0] = 99
	got := cfg.Slice()
	assert.Equal(t, []uint64{1, 2, 3}, got, "got %v, want %v", got, []uint64{1, 2, 3})
}

func TestJointConfigStringAndIDs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     JointConfig
		wantStr string
		wantIDs map[uint64]struct{}
	}{
		{"both empty", JointConfig{}, "()", map[uint64]struct{}{}},
		{"outgoing empty", JointConfig{majorityOf(1, 2, 3), nil}, "(1 2 3)", majorityOf(1, 2, 3)},
		{"incoming empty", JointConfig{nil, majorityOf(2, 1)}, "()&&(1 2)", majorityOf(1, 2)},
		{"overlapping", JointConfig{majorityOf(3, 2, 1), majorityOf(2, 1)}, "(1 2 3)&&(1 2)", majorityOf(1, 2, 3)},
		{"disjoint", JointConfig{majorityOf(1, 2), majorityOf(4, 5, 6)}, "(1 2)&&(4 5 6)", majorityOf(1, 2, 4, 5, 6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotStr := tc.cfg.String()
			assert.Equal(t, tc.wantStr, gotStr, "String: got %v, want %v", gotStr, tc.wantStr)
			gotIDs := tc.cfg.IDs()
			assert.Equal(t, tc.wantIDs, gotIDs, "IDs: got %v, want %v", gotIDs, tc.wantIDs)
		})
	}
}

func TestJointConfigIDsIsCallerOwned(t *testing.T) {
	cfg := JointConfig{majorityOf(1, 2), majorityOf(2, 3)}
	ids := cfg.IDs()
	ids[9] = struct{}{}
	delete(ids, 1)
	want := JointConfig{majorityOf(1, 2), majorityOf(2, 3)}
	assert.Equal(t, want, cfg, "got %v, want %v", cfg, want)
}
