// Package floor measures the least work the replication contract forces per
// proposal, with plain data structures and no library, as a yardstick for the
// replication benchmarks of ../ours and ../etcd: BenchmarkFloor/voters=V/
// entry=E/batch=B pairs with every benchmark whose name ends in the same
// voters/entry/batch elements, and cmd/compare reports each one's ratio to it.
//
// One op is one full commit cycle of batch entries in a group of voters:
//
//  1. the leader appends the entries to its unstable log;
//  2. its Ready persists them (moves them to the stable log) and sends one
//     append message per follower, carrying the entries, referenced rather
//     than copied, as in-process delivery does;
//  3. each follower appends them to its log and acknowledges the last index;
//  4. the leader records each acknowledgement and computes the quorum commit
//     index, the largest index a majority holds, by sorting the match
//     indexes (quorum arithmetic, paper 5.3 and 5.4.2);
//  5. the leader applies the committed entries and its next Ready carries
//     the commit index to each follower in one message, which applies them.
//
// Nothing allocates once the slices have grown; logs are truncated when
// every voter has applied them. There is no term change, no flow control, no
// storage interface, no encoding: anything a real path does beyond this is
// its overhead over the floor. Entry size matters to the floor only through
// the bytes it references, so its 128B and 4KiB runs should cost the same.
package floor

import (
	"fmt"
	"slices"
	"testing"
)

// compactEvery bounds the logs, as in the suite.
const compactEvery = 4096

// entry is one log entry.
type entry struct {
	term, index uint64
	data        []byte
}

// appendMsg is the leader's message to one follower: entries following
// (prevIndex, prevTerm) and the leader's commit index.
type appendMsg struct {
	to                  int
	prevIndex, prevTerm uint64
	commit              uint64
	entries             []entry
}

// follower is one follower's log and state machine.
type follower struct {
	// log holds the entries from log[0].index on.
	// Invariant: log[i].index == log[0].index + i.
	log []entry
	// lastIndex is the index of the last entry in log (or the last one
	// truncated); applied <= commit <= lastIndex.
	lastIndex, commit, applied uint64
	// appliedBytes counts the payload applied, so that applying touches
	// every entry.
	appliedBytes int
}

// group is a leader (voter 0) and its followers (voters 1..n-1).
type group struct {
	term uint64
	// unstable holds the leader's entries not yet persisted; stable those
	// persisted. Invariant: stable and then unstable are consecutive.
	unstable, stable []entry
	lastIndex        uint64
	// match[i] is the highest index voter i is known to hold; commit and
	// applied are the leader's. Invariant: applied <= commit <= lastIndex.
	match           []uint64
	commit, applied uint64
	appliedBytes    int
	followers       []follower
	outbox, replies []appendMsg
	sorted          []uint64
}

func newGroup(voters int) *group {
	g := &group{term: 1, match: make([]uint64, voters), sorted: make([]uint64, voters)}
	g.followers = make([]follower, voters-1)
	return g
}

// propose appends one entry to the leader's unstable log.
func (g *group) propose(data []byte) {
	g.lastIndex++
	g.unstable = append(g.unstable, entry{term: g.term, index: g.lastIndex, data: data})
}

// ready persists the unstable entries and returns one append message per
// follower carrying them and the commit index.
func (g *group) ready() []appendMsg {
	first := len(g.stable)
	prevIndex := g.lastIndex - uint64(len(g.unstable))
	prevTerm := uint64(0)
	if first > 0 {
		prevTerm = g.stable[first-1].term
	}
	g.stable = append(g.stable, g.unstable...)
	g.unstable = g.unstable[:0]
	g.match[0] = g.lastIndex
	g.outbox = g.outbox[:0]
	for i := range g.followers {
		g.outbox = append(g.outbox, appendMsg{
			to: i + 1, prevIndex: prevIndex, prevTerm: prevTerm, commit: g.commit, entries: g.stable[first:],
		})
	}
	return g.outbox
}

// receive handles an append message at its follower and returns the index
// it acknowledges.
func (g *group) receive(m appendMsg) uint64 {
	f := &g.followers[m.to-1]
	if m.prevIndex != f.lastIndex {
		panic(fmt.Sprintf("follower %d: got entries after %d, want after %d", m.to, m.prevIndex, f.lastIndex))
	}
	f.log = append(f.log, m.entries...)
	f.lastIndex += uint64(len(m.entries))
	f.commit = max(f.commit, min(m.commit, f.lastIndex))
	for f.applied < f.commit {
		f.applied++
		f.appliedBytes += len(f.log[len(f.log)-int(f.lastIndex-f.applied)-1].data)
	}
	return f.lastIndex
}

// acknowledge records that voter from holds index and advances the commit
// index to what a quorum holds.
func (g *group) acknowledge(from int, index uint64) {
	g.match[from] = max(g.match[from], index)
	copy(g.sorted, g.match)
	slices.Sort(g.sorted)
	// The quorum index: the largest index held by a majority.
	g.commit = max(g.commit, g.sorted[(len(g.sorted)-1)/2])
}

// apply applies the leader's committed entries.
func (g *group) apply() {
	base := g.lastIndex - uint64(len(g.stable))
	for ; g.applied < g.commit; g.applied++ {
		g.appliedBytes += len(g.stable[g.applied-base].data)
	}
}

// cycle runs one full commit cycle of batch entries of data.
func (g *group) cycle(data []byte, batch int) {
	for range batch {
		g.propose(data)
	}
	for _, m := range g.ready() {
		g.acknowledge(m.to, g.receive(m))
	}
	if len(g.followers) == 0 {
		g.acknowledge(0, g.lastIndex)
	}
	g.apply()
	// The next Ready carries the new commit index to every follower.
	for _, m := range g.ready() {
		g.receive(m)
	}
	g.maybeCompact()
}

// maybeCompact truncates every log once compactEvery entries are applied
// everywhere, keeping the slices' capacity.
func (g *group) maybeCompact() {
	if len(g.stable) < compactEvery || g.applied != g.lastIndex {
		return
	}
	for i := range g.followers {
		if g.followers[i].applied != g.lastIndex {
			return
		}
	}
	clear(g.stable)
	g.stable = g.stable[:0]
	for i := range g.followers {
		f := &g.followers[i]
		clear(f.log)
		f.log = f.log[:0]
	}
}

// BenchmarkFloor runs one full commit cycle per op; see the package comment.
func BenchmarkFloor(b *testing.B) {
	for _, voters := range []int{1, 3, 5} {
		for _, size := range []int{128, 4096} {
			for _, batch := range []int{1, 16, 256} {
				b.Run(fmt.Sprintf("voters=%d/entry=%s/batch=%d", voters, sizeName(size), batch), func(b *testing.B) {
					g := newGroup(voters)
					data := make([]byte, size)
					b.ReportAllocs()
					for b.Loop() {
						g.cycle(data, batch)
					}
					if want := uint64(b.N * batch); g.applied != want {
						b.Fatalf("leader: got %d applied, want %d", g.applied, want)
					}
				})
			}
		}
	}
}

// sizeName writes a byte count as the suite's benchmark names do.
func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

// TestGroupCommits checks that the floor does the work it claims: after
// each cycle every voter holds, has committed and has applied every entry,
// through compactions.
func TestGroupCommits(t *testing.T) {
	for _, voters := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("voters=%d", voters), func(t *testing.T) {
			g := newGroup(voters)
			data := []byte("abc")
			total := 0
			for cycle := range 3 * compactEvery / 7 {
				batch := 1 + cycle%13
				g.cycle(data, batch)
				total += batch
				if g.commit != uint64(total) || g.applied != uint64(total) || g.appliedBytes != 3*total {
					t.Fatalf("leader after %d entries: got commit %d, applied %d, %d bytes; want %d, %d, %d",
						total, g.commit, g.applied, g.appliedBytes, total, total, 3*total)
				}
				for i, f := range g.followers {
					if f.lastIndex != uint64(total) || f.applied != uint64(total) || f.appliedBytes != 3*total {
						t.Fatalf("follower %d after %d entries: got last %d, applied %d, %d bytes; want %d, %d, %d",
							i+1, total, f.lastIndex, f.applied, f.appliedBytes, total, total, 3*total)
					}
				}
			}
		})
	}
}

// TestQuorumIndex checks acknowledge's commit arithmetic against its
// definition: the largest index that a majority of voters holds.
func TestQuorumIndex(t *testing.T) {
	for _, tc := range []struct {
		match []uint64
		want  uint64
	}{
		{[]uint64{7}, 7},
		{[]uint64{7, 3}, 3},
		{[]uint64{7, 3, 5}, 5},
		{[]uint64{1, 9, 9}, 9},
		{[]uint64{4, 1, 2, 8, 8}, 4},
	} {
		t.Run(fmt.Sprint(tc.match), func(t *testing.T) {
			g := newGroup(len(tc.match))
			for i, m := range tc.match {
				g.acknowledge(i, m)
			}
			if g.commit != tc.want {
				t.Errorf("got commit %d, want %d", g.commit, tc.want)
			}
			held := 0
			for _, m := range tc.match {
				if m >= g.commit {
					held++
				}
			}
			if 2*held <= len(tc.match) {
				t.Errorf("commit %d is held by %d of %d voters, want a majority", g.commit, held, len(tc.match))
			}
		})
	}
}
