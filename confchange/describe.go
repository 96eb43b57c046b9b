package confchange

import (
	"strconv"
	"strings"

	"github.com/quorate/raft/raftpb"
)

// Describe returns a one-line human-readable form of ccs for logs: each
// change as its type name followed by the node ID in parentheses, separated
// by single spaces, e.g. "ConfChangeAddNode(1) ConfChangeRemoveNode(2)". It
// returns the empty string for no changes. Unlike
// raftpb.ConfChangesToString, the output is not meant to be parsed back.
func Describe(ccs ...raftpb.ConfChangeSingle) string {
	var b strings.Builder
	for i, cc := range ccs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(cc.Type.String())
		b.WriteByte('(')
		b.WriteString(strconv.FormatUint(cc.NodeID, 10))
		b.WriteByte(')')
	}
	return b.String()
}
