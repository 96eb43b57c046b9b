package tracker

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// live returns the messages in flight, oldest first.
func live(in *Inflights) []inflight {
	out := make([]inflight, 0, in.count)
	for k := 0; k < in.count; k++ {
		out = append(out, in.buffer[(in.start+k)%len(in.buffer)])
	}
	return out
}

// checkInflights asserts the invariants documented on the Inflights fields.
func checkInflights(t *testing.T, in *Inflights) {
	t.Helper()
	require.LessOrEqual(t, len(in.buffer), in.size, "len(buffer) <= size")
	require.LessOrEqual(t, in.count, len(in.buffer), "count <= len(buffer)")
	if in.count == 0 {
		require.Zero(t, in.start, "start with an empty window")
		require.LessOrEqual(t, len(in.buffer), keptSlots, "an empty window keeps at most keptSlots")
	} else {
		require.Less(t, in.start, len(in.buffer), "start < len(buffer)")
	}
	var sum uint64
	for k, e := range live(in) {
		sum += e.bytes
		if k > 0 {
			require.Greater(t, e.index, live(in)[k-1].index, "indexes increase")
		}
	}
	require.Equal(t, sum, in.bytes, "bytes is the sum of live entries")
}

// addRange adds the indexes [from, to], each carrying bytes.
func addRange(in *Inflights, from, to, bytes uint64) {
	for i := from; i <= to; i++ {
		in.Add(i, bytes)
	}
}

func indexes(in *Inflights) []uint64 {
	var out []uint64
	for _, e := range live(in) {
		out = append(out, e.index)
	}
	return out
}

func TestInflightsFullByCount(t *testing.T) {
	in := NewInflights(4, 0)
	for i := uint64(1); i <= 4; i++ {
		require.False(t, in.Full(), "full before adding %d", i)
		in.Add(i, 1000)
	}
	assert.True(t, in.Full(), "full after adding size messages")
	assert.Equal(t, 4, in.Count())
	checkInflights(t, in)

	t.Run("add to a full window panics with the values", func(t *testing.T) {
		assert.PanicsWithValue(t,
			"tracker: cannot add inflight index=5 bytes=7 to a full window: count=4 size=4 bytes=4000 maxBytes=0",
			func() { in.Add(5, 7) })
	})
	t.Run("freeing one slot admits one more", func(t *testing.T) {
		in.FreeLE(1)
		require.False(t, in.Full())
		in.Add(5, 1)
		assert.True(t, in.Full())
		assert.Equal(t, []uint64{2, 3, 4, 5}, indexes(in))
		checkInflights(t, in)
	})
}

func TestInflightsFullByBytes(t *testing.T) {
	in := NewInflights(10, 100)
	in.Add(1, 40)
	in.Add(2, 40)
	require.False(t, in.Full(), "80 of 100 bytes")
	in.Add(3, 40)
	require.True(t, in.Full(), "the message crossing maxBytes is admitted and fills the window")
	assert.Equal(t, uint64(120), in.bytes)
	assert.Panics(t, func() { in.Add(4, 0) })

	t.Run("freeing bytes below the limit reopens the window", func(t *testing.T) {
		in.FreeLE(1)
		assert.False(t, in.Full(), "got Full with bytes=%d", in.bytes)
		assert.Equal(t, uint64(80), in.bytes)
	})
	t.Run("exactly maxBytes is full", func(t *testing.T) {
		in.Add(4, 20)
		assert.True(t, in.Full(), "got not Full with bytes=%d", in.bytes)
	})
	t.Run("empty messages do not count towards bytes", func(t *testing.T) {
		in := NewInflights(3, 10)
		in.Add(1, 0)
		in.Add(2, 0)
		assert.False(t, in.Full())
		in.Add(3, 0)
		assert.True(t, in.Full(), "full by count")
	})
}

func TestInflightsFreeLE(t *testing.T) {
	for _, tt := range []struct {
		name string
		to   uint64
		want []uint64
	}{
		{name: "below the oldest frees nothing", to: 4, want: []uint64{5, 6, 7, 8}},
		{name: "the oldest frees it", to: 5, want: []uint64{6, 7, 8}},
		{name: "between entries frees the lower ones", to: 7, want: []uint64{8}},
		{name: "the newest frees all", to: 8, want: nil},
		{name: "beyond the newest frees all", to: 1000, want: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInflights(8, 0)
			// Wrap the ring first: slots hold 5..8 starting mid-buffer.
			addRange(in, 1, 6, 10)
			in.FreeLE(4)
			addRange(in, 7, 8, 10)
			in.FreeLE(tt.to)
			assert.Equal(t, tt.want, indexes(in))
			assert.Equal(t, len(tt.want), in.Count())
			assert.Equal(t, 10*uint64(len(tt.want)), in.bytes)
			checkInflights(t, in)
		})
	}
	t.Run("on an empty window is a no-op", func(t *testing.T) {
		in := NewInflights(8, 0)
		in.FreeLE(10)
		assert.Zero(t, in.Count())
		assert.Nil(t, in.buffer)
	})
	t.Run("emptying restarts the ring at slot 0", func(t *testing.T) {
		in := NewInflights(4, 0)
		addRange(in, 1, 3, 1)
		in.FreeLE(3)
		assert.Zero(t, in.start)
	})
}

func TestInflightsWraparound(t *testing.T) {
	in := NewInflights(4, 0)
	addRange(in, 1, 4, 1)
	require.Len(t, in.buffer, 4)
	in.FreeLE(2)
	addRange(in, 5, 6, 1)
	t.Run("new entries reuse the freed front slots", func(t *testing.T) {
		assert.Len(t, in.buffer, 4, "no growth beyond size")
		assert.Equal(t, 2, in.start)
		assert.Equal(t, []uint64{3, 4, 5, 6}, indexes(in))
		assert.Equal(t, uint64(5), in.buffer[0].index, "index 5 wrapped to slot 0")
		checkInflights(t, in)
	})
	t.Run("freeing across the wrap point", func(t *testing.T) {
		in.FreeLE(5)
		assert.Equal(t, []uint64{6}, indexes(in))
		assert.Equal(t, 1, in.start)
		checkInflights(t, in)
	})
}

func TestInflightsGrowth(t *testing.T) {
	t.Run("a new window holds no buffer", func(t *testing.T) {
		in := NewInflights(1<<20, 0)
		assert.Nil(t, in.buffer)
		assert.Zero(t, in.Count())
		assert.False(t, in.Full())
	})
	t.Run("the buffer doubles only when the ring is full, up to size", func(t *testing.T) {
		in := NewInflights(5, 0)
		var lens []int
		for i := uint64(1); i <= 5; i++ {
			in.Add(i, 0)
			lens = append(lens, len(in.buffer))
		}
		assert.Equal(t, []int{1, 2, 4, 4, 5}, lens)
	})
	t.Run("a steady window does not grow", func(t *testing.T) {
		in := NewInflights(1000, 0)
		for i := uint64(1); i <= 100; i++ {
			in.Add(i, 0)
			if i > 3 {
				in.FreeLE(i - 3)
			}
		}
		assert.Equal(t, 3, in.Count())
		assert.Equal(t, 4, len(in.buffer), "got buffer of %d slots, want 4 for 3 in flight", len(in.buffer))
	})
	t.Run("growing a wrapped ring keeps the order", func(t *testing.T) {
		in := NewInflights(8, 0)
		addRange(in, 1, 4, 1)
		in.FreeLE(2)
		addRange(in, 5, 6, 1) // ring is full and wrapped: [5 6 3 4], start 2
		require.Equal(t, 2, in.start)
		in.Add(7, 1)
		assert.Len(t, in.buffer, 8)
		assert.Equal(t, []uint64{3, 4, 5, 6, 7}, indexes(in))
		checkInflights(t, in)
	})
	t.Run("reset keeps a small buffer for reuse", func(t *testing.T) {
		in := NewInflights(8, 0)
		addRange(in, 1, 3, 1)
		in.reset()
		assert.Zero(t, in.Count())
		assert.Zero(t, in.bytes)
		assert.Len(t, in.buffer, 4)
	})
}

func TestInflightsShrink(t *testing.T) {
	burst := func() *Inflights {
		in := NewInflights(64, 0)
		addRange(in, 1, 20, 3)
		require.Len(t, in.buffer, 32)
		return in
	}
	t.Run("acknowledging a burst releases the buffer", func(t *testing.T) {
		in := burst()
		in.FreeLE(20)
		assert.Nil(t, in.buffer, "got a buffer of %d slots, want none", len(in.buffer))
		checkInflights(t, in)
	})
	t.Run("a partly acknowledged burst keeps the buffer", func(t *testing.T) {
		in := burst()
		in.FreeLE(19)
		assert.Len(t, in.buffer, 32)
		assert.Equal(t, []uint64{20}, indexes(in))
	})
	t.Run("reset after a burst releases the buffer", func(t *testing.T) {
		in := burst()
		in.reset()
		assert.Nil(t, in.buffer, "got a buffer of %d slots, want none", len(in.buffer))
		assert.Zero(t, in.bytes)
	})
	t.Run("an emptied window of keptSlots keeps its buffer", func(t *testing.T) {
		in := NewInflights(64, 0)
		addRange(in, 1, keptSlots, 1)
		require.Len(t, in.buffer, keptSlots)
		in.FreeLE(keptSlots)
		assert.Len(t, in.buffer, keptSlots)
	})
	t.Run("the window works again after releasing", func(t *testing.T) {
		in := burst()
		in.FreeLE(20)
		addRange(in, 21, 23, 5)
		assert.Equal(t, []uint64{21, 22, 23}, indexes(in))
		assert.Len(t, in.buffer, 4, "grown again from one slot")
		assert.Equal(t, uint64(15), in.bytes)
		checkInflights(t, in)
	})
}

func TestInflightsClone(t *testing.T) {
	in := NewInflights(4, 100)
	addRange(in, 1, 3, 10)
	c := in.Clone()
	require.Equal(t, in, c)

	in.FreeLE(2)
	in.Add(4, 50)
	c.Add(9, 1)
	assert.Equal(t, []uint64{3, 4}, indexes(in))
	assert.Equal(t, uint64(60), in.bytes)
	assert.Equal(t, []uint64{1, 2, 3, 9}, indexes(c), "clone unaffected by the original")
	assert.Equal(t, uint64(31), c.bytes)
	assert.True(t, c.Full())
	assert.False(t, in.Full())

	t.Run("of an unused window", func(t *testing.T) {
		c := NewInflights(4, 0).Clone()
		assert.Nil(t, c.buffer)
		assert.Equal(t, 4, c.size)
	})
	t.Run("of nil", func(t *testing.T) {
		var in *Inflights
		assert.Nil(t, in.Clone())
	})
}

func TestInflightsNil(t *testing.T) {
	var in *Inflights
	assert.Zero(t, in.Count())
	assert.False(t, in.Full())
	assert.NotPanics(t, func() { in.FreeLE(10); in.reset() })
}

// TestInflightsModel drives Inflights and an obviously correct model (a
// plain slice) with the same random operations and compares them.
func TestInflightsModel(t *testing.T) {
	for _, cfg := range []struct {
		size     int
		maxBytes uint64
	}{{1, 0}, {3, 0}, {16, 0}, {16, 50}, {7, 1}} {
		t.Run(fmt.Sprintf("size=%d maxBytes=%d", cfg.size, cfg.maxBytes), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(cfg.size), cfg.maxBytes))
			in := NewInflights(cfg.size, cfg.maxBytes)
			model := []inflight{}
			modelBytes := func() (n uint64) {
				for _, e := range model {
					n += e.bytes
				}
				return n
			}
			next := uint64(1)
			for step := 0; step < 2000; step++ {
				wantFull := len(model) >= cfg.size || (cfg.maxBytes != 0 && modelBytes() >= cfg.maxBytes)
				require.Equal(t, wantFull, in.Full(), "step %d Full", step)
				if !wantFull && rng.IntN(3) > 0 {
					next += 1 + rng.Uint64N(3)
					e := inflight{index: next, bytes: rng.Uint64N(20)}
					in.Add(e.index, e.bytes)
					model = append(model, e)
				} else {
					to := next - rng.Uint64N(8)
					in.FreeLE(to)
					for len(model) > 0 && model[0].index <= to {
						model = model[1:]
					}
				}
				require.Equal(t, model, live(in), "step %d", step)
				checkInflights(t, in)
			}
		})
	}
}

func BenchmarkInflightsAddFreeLE(b *testing.B) {
	for _, window := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			in := NewInflights(256, 0)
			next := uint64(1)
			// send adds the next message, first acknowledging the older half
			// of the window when it is full, so the window never empties.
			send := func() {
				if in.Full() || in.Count() == window {
					in.FreeLE(next - uint64(window/2) - 1)
				}
				in.Add(next, 1)
				next++
			}
			// Reach the steady-state buffer size before measuring.
			for range 2 * window {
				send()
			}
			b.ReportAllocs()
			for b.Loop() {
				send()
			}
		})
	}
}
