package wal

import (
	"fmt"
	"math/rand/v2"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/require"
)

// TestEntryCache drives the cache with random appends (overwriting
// suffixes), compactions and resets, and checks it against a plain slice:
// it holds a suffix of the log within its byte bound, returns what the
// slice holds, and never changes an entry it handed out.
func TestEntryCache(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 3))
			c := entryCache{maxBytes: uint64(2000 + rng.IntN(60000))}
			var log []pb.Entry // the model: entries 1..len(log)
			type handed struct {
				ents []pb.Entry
				want []pb.Entry
			}
			var out []handed
			term := uint64(1)
			for step := range 1000 {
				switch r := rng.IntN(10); {
				case r < 7:
					at := uint64(len(log)) + 1
					if len(log) > 0 && rng.IntN(4) == 0 {
						at = 1 + rng.Uint64N(uint64(len(log)))
						term++
					}
					n := 1 + rng.IntN(300)
					es := make([]pb.Entry, n)
					for i := range es {
						es[i] = pb.Entry{Index: at + uint64(i), Term: term, Data: make([]byte, rng.IntN(100))}
					}
					log = append(log[:at-1:at-1], es...)
					c.append(es)
				case r < 8 && len(log) > 0:
					c.compact(1 + rng.Uint64N(uint64(len(log))))
				case r < 9:
					if f, ok := c.first(); ok {
						hi := f + rng.Uint64N(uint64(len(log))-f+1) + 1
						lo := f + rng.Uint64N(hi-f)
						got := c.get(lo, hi)
						require.Equal(t, log[lo-1:hi-1], got, "step %d: get(%d, %d)", step, lo, hi)
						require.Equal(t, len(got), cap(got), "step %d: got a slice with spare capacity", step)
						out = append(out, handed{got, append([]pb.Entry(nil), got...)})
					}
				default:
					if rng.IntN(10) == 0 {
						c.reset()
					}
				}
				require.LessOrEqual(t, c.bytes(), c.maxBytes, "step %d: cache over its bound", step)
				var size uint64
				if f, ok := c.first(); ok {
					require.Equal(t, uint64(len(log)), c.last(), "step %d: cache does not end at the last entry", step)
					for _, e := range log[f-1:] {
						size += cachedSize(&e)
					}
				}
				require.Equal(t, size, c.bytes(), "step %d: got %d bytes accounted, want %d", step, c.bytes(), size)
			}
			for i, h := range out {
				require.Equal(t, h.want, h.ents, "slice %d handed out was modified", i)
			}
		})
	}
}
