package confchange

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/raftpb"
)

// TestDescribe checks the documented format of Describe.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name string
		ccs  []raftpb.ConfChangeSingle
		want string
	}{
		{name: "no changes", want: ""},
		{
			name: "one change",
			ccs:  []raftpb.ConfChangeSingle{{Type: raftpb.ConfChangeAddNode, NodeID: 1}},
			want: "ConfChangeAddNode(1)",
		},
		{
			name: "every type in order",
			ccs: []raftpb.ConfChangeSingle{
				{Type: raftpb.ConfChangeAddNode, NodeID: 1},
				{Type: raftpb.ConfChangeAddLearnerNode, NodeID: 2},
				{Type: raftpb.ConfChangeRemoveNode, NodeID: 3},
				{Type: raftpb.ConfChangeUpdateNode, NodeID: 18446744073709551615},
			},
			want: "ConfChangeAddNode(1) ConfChangeAddLearnerNode(2) ConfChangeRemoveNode(3) " +
				"ConfChangeUpdateNode(18446744073709551615)",
		},
		{
			name: "unknown type",
			ccs:  []raftpb.ConfChangeSingle{{Type: 7, NodeID: 4}},
			want: "7(4)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Describe(tc.ccs...)
			require.Equal(t, tc.want, got, "got %q, want %q", got, tc.want)
		})
	}
}
