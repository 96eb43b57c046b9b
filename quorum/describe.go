package quorum

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Describe returns a human-readable table of the voters' acknowledged
// indexes and where the committed index falls among them. It is meant for
// debugging and tests; it allocates freely. The layout is stable:
//
//	voter  acked  progress
//	    1      ?    |
//	    2      5  xx|
//	    3      7  xx|x
//	    4      7  xx|x
//	    5      9  xx|xxx
//	committed: 7
//
// Rows are ordered by acked index, ascending, with voters that have not
// acknowledged anything ("?") first and ties broken by voter ID. The
// progress bar of a voter is as long as its rank: 1 + the number of voters
// strictly behind it (unacknowledged voters count as behind everyone and have
// an empty bar), so equal indexes get equal bars. The "|" line is drawn at
// the rank of the committed index: exactly the voters whose bar reaches past
// it have acknowledged the committed index. The last line is the result of
// CommittedIndex. The empty configuration prints "(no voters)" instead of the
// table.
func (c MajorityConfig) Describe(l AckedIndexer) string {
	var b strings.Builder
	commit := c.CommittedIndex(l)
	writeProgressTable(&b, c.Slice(), l, commit, nil)
	fmt.Fprintf(&b, "committed: %s\n", commit)
	return b.String()
}

// Describe returns a table like MajorityConfig.Describe over the union of
// both halves, with an extra "cfg" column telling whether each voter is in
// the incoming half ("in"), the outgoing half ("out") or "both". The "|"
// line marks the joint committed index, and the last line shows how it
// derives from the halves, e.g. "committed: 5 = min(incoming 7, outgoing 5)".
func (c JointConfig) Describe(l AckedIndexer) string {
	var b strings.Builder
	ids := MajorityConfig(c.IDs()).Slice()
	commit := c.CommittedIndex(l)
	writeProgressTable(&b, ids, l, commit, c.membership)
	fmt.Fprintf(&b, "committed: %s = min(incoming %s, outgoing %s)\n",
		commit, c[0].CommittedIndex(l), c[1].CommittedIndex(l))
	return b.String()
}

// membership names the halves of c that contain id.
func (c JointConfig) membership(id uint64) string {
	_, in := c[0][id]
	_, out := c[1][id]
	switch {
	case in && out:
		return "both"
	case in:
		return "in"
	case out:
		return "out"
	default:
		return "none"
	}
}

// progressRow is one voter's line in a Describe table.
type progressRow struct {
	id    uint64
	idx   Index
	acked bool
	// rank is the length of the progress bar: 0 when !acked, otherwise 1 +
	// the number of rows strictly behind this one.
	rank int
}

// behind reports whether a is strictly behind b: an unacknowledged voter is
// behind every acknowledged one, acknowledged voters compare by index.
func (a progressRow) behind(b progressRow) bool {
	if a.acked != b.acked {
		return !a.acked
	}
	return a.acked && a.idx < b.idx
}

// writeProgressTable writes the header and one row per voter in ids, as
// documented on MajorityConfig.Describe. When member is non-nil, it adds a
// "cfg" column filled with member(id).
func writeProgressTable(b *strings.Builder, ids []uint64, l AckedIndexer, commit Index, member func(uint64) string) {
	if len(ids) == 0 {
		b.WriteString("(no voters)\n")
		return
	}
	rows := make([]progressRow, len(ids))
	idWidth, idxWidth := len("voter"), len("acked")
	for i, id := range ids {
		idx, acked := l.AckedIndex(id)
		rows[i] = progressRow{id: id, idx: idx, acked: acked}
		idWidth = max(idWidth, len(fmt.Sprint(id)))
		idxWidth = max(idxWidth, len([]rune(ackedString(rows[i]))))
	}
	// The "|" goes before the cell of the rank a voter at exactly commit
	// would have; unacknowledged voters are always behind it.
	line := 1
	for i := range rows {
		if !rows[i].acked || rows[i].idx < commit {
			line++
		}
		if rows[i].acked {
			rows[i].rank = 1
			for _, other := range rows {
				if other.behind(rows[i]) {
					rows[i].rank++
				}
			}
		}
	}
	slices.SortFunc(rows, func(a, b progressRow) int {
		if a.behind(b) {
			return -1
		}
		if b.behind(a) {
			return 1
		}
		return cmp.Compare(a.id, b.id)
	})

	fmt.Fprintf(b, "%*s  %*s  ", idWidth, "voter", idxWidth, "acked")
	if member != nil {
		b.WriteString("cfg   ")
	}
	b.WriteString("progress\n")
	for _, r := range rows {
		fmt.Fprintf(b, "%*d  %*s  ", idWidth, r.id, idxWidth, ackedString(r))
		if member != nil {
			fmt.Fprintf(b, "%-4s  ", member(r.id))
		}
		b.WriteString(progressBar(r.rank, line, len(rows)))
		b.WriteByte('\n')
	}
}

// ackedString is the "acked" cell of r.
func ackedString(r progressRow) string {
	if !r.acked {
		return "?"
	}
	return r.idx.String()
}

// progressBar draws rank cells of "x" out of width cells, with "|" inserted
// before cell line (1-based; line == width+1 puts it after the last cell).
// Trailing blanks are dropped.
func progressBar(rank, line, width int) string {
	var b strings.Builder
	for cell := 1; cell <= width+1; cell++ {
		if cell == line {
			b.WriteByte('|')
		}
		if cell <= width && cell <= rank {
			b.WriteByte('x')
		} else if cell <= width {
			b.WriteByte(' ')
		}
	}
	return strings.TrimRight(b.String(), " ")
}
