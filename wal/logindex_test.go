package wal

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestLogIndex checks the index against a plain list of entries: terms and
// locations after random appends, truncations, compactions and resets.
func TestLogIndex(t *testing.T) {
	type loc struct {
		term, seq uint64
		off       uint32
	}
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 5))
			var l logIndex
			model := map[uint64]loc{}
			compact, compactTerm, last := uint64(0), uint64(0), uint64(0)
			seq, off, term := uint64(1), uint32(0), uint64(1)
			for step := range 1000 {
				switch r := rng.IntN(10); {
				case r < 6:
					at := last + 1
					if last > compact && rng.IntN(3) == 0 {
						at = compact + 1 + rng.Uint64N(last-compact)
						l.truncate(at)
						for i := at; i <= last; i++ {
							delete(model, i)
						}
						last = at - 1
					}
					if rng.IntN(5) == 0 {
						term++
					}
					if rng.IntN(8) == 0 {
						seq++
						off = 0
					}
					// A batch, entered one entry at a time or with appendAll
					// (offsets relative to where the batch starts), its term
					// possibly changing within it.
					bulk, base := rng.IntN(2) == 0, off
					var ents []pb.Entry
					var offs []uint32
					for range 1 + rng.IntN(20) {
						last++
						off += 1 + uint32(rng.IntN(100))
						if bulk && rng.IntN(10) == 0 {
							term++
						}
						if bulk {
							ents = append(ents, pb.Entry{Index: last, Term: term})
							offs = append(offs, off-base)
						} else {
							l.append(last, term, seq, off)
						}
						model[last] = loc{term, seq, off}
					}
					if bulk {
						l.appendAll(ents, seq, base, offs)
					}
				case r < 8 && last > compact:
					c := compact + 1 + rng.Uint64N(last-compact)
					compactTerm = model[c].term
					l.compact(c, compactTerm)
					for i := compact + 1; i <= c; i++ {
						delete(model, i)
					}
					compact = c
				case r == 8:
					last += rng.Uint64N(10)
					compact, compactTerm = last, term
					l.reset(last, term)
					clear(model)
				}
				require.Equal(t, compact, l.compactIndex, "step %d", step)
				require.Equal(t, last, l.last, "step %d", step)
				got, ok := l.term(compact)
				require.True(t, ok && got == compactTerm, "step %d: Term(%d) of the dummy entry: got %d, %v, want %d", step, compact, got, ok, compactTerm)
				_, ok = l.term(last + 1)
				require.False(t, ok, "step %d: got a term past the last index", step)
				if compact > 0 {
					_, ok = l.term(compact - 1)
					require.False(t, ok, "step %d: got a term below the compacted index", step)
				}
				for i := compact + 1; i <= last; i++ {
					want := model[i]
					gt, ok := l.term(i)
					require.True(t, ok && gt == want.term, "step %d: term(%d): got %d, want %d", step, i, gt, want.term)
					gs, goff, _ := l.locate(i)
					require.Equal(t, want.seq, gs, "step %d: segment of %d", step, i)
					require.Equal(t, want.off, goff, "step %d: offset of %d", step, i)
				}
			}
		})
	}
}
