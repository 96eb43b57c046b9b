package wal

import (
	"sort"

	pb "github.com/quorate/raft/raftpb"
)

// cacheChunk is the number of entries in one array of the cache.
const cacheChunk = 512

// entryCache holds the most recent entries in memory, up to maxBytes of
// them (by cachedSize), so that followers and the apply loop read them
// without touching the disk.
//
// The entries are kept in chunks: arrays of up to cacheChunk consecutive
// entries, each allocated once with that capacity. Appending fills the last
// chunk in place and then starts a new one, and eviction reslices the
// first chunk and drops it once empty, so neither copies the cache. A read
// within one chunk returns a slice of it; one that spans chunks copies.
//
// Slices returned by get alias the chunks and are capped (cap == len), so
// an append by their holder copies. The cache never writes an element that
// a returned slice may see: it only appends past a chunk's len, and after
// a truncation it caps the chunk so that the next append moves to a new
// array.
//
// Each cached entry's position in a running count of the bytes appended
// is kept beside it, so that eviction, truncation and compaction find
// what they drop, and its size, without reading the entries they drop:
// eviction would otherwise read the oldest entries of the cache, cold in
// the processor's caches, at every append.
type entryCache struct {
	maxBytes uint64
	// end is the running count of bytes (by cachedSize) appended since the
	// cache was last empty, less those truncated: the position after the
	// last cached entry.
	end uint64
	// chunks hold consecutive entries and, when not empty, end at the
	// log's last entry. Invariant: no chunk is empty, and every chunk but
	// the first and the last holds cacheChunk entries.
	chunks []entryChunk
}

// entryChunk is an array of consecutive cached entries and their
// positions. Invariant: len(starts) == len(ents), and starts[k] is the
// running count of bytes before ents[k].
type entryChunk struct {
	ents   []pb.Entry
	starts []uint64
}

// dropFront drops the first k entries of ch.
func (ch *entryChunk) dropFront(k int) {
	ch.ents, ch.starts = ch.ents[k:], ch.starts[k:]
}

// bytes returns the sum of cachedSize of the cached entries.
func (c *entryCache) bytes() uint64 {
	if len(c.chunks) == 0 {
		return 0
	}
	return c.end - c.chunks[0].starts[0]
}

// first returns the index of the first cached entry, and false if the
// cache is empty.
func (c *entryCache) first() (uint64, bool) {
	if len(c.chunks) == 0 {
		return 0, false
	}
	return c.chunks[0].ents[0].Index, true
}

// last returns the index of the last cached entry; the cache must not be
// empty.
func (c *entryCache) last() uint64 {
	ch := c.chunks[len(c.chunks)-1].ents
	return ch[len(ch)-1].Index
}

// chunkOf returns the position of the chunk holding cached entry i.
func (c *entryCache) chunkOf(i uint64) int {
	// Chunks after the first are full but for the last, so the position
	// follows from the index.
	first := c.chunks[0].ents
	if i < first[0].Index+uint64(len(first)) {
		return 0
	}
	k := 1 + int((i-first[0].Index-uint64(len(first)))/cacheChunk)
	return min(k, len(c.chunks)-1)
}

// get returns the cached entries [lo, hi), or nil if lo is not cached. hi
// must not pass the last cached entry + 1, and lo < hi.
func (c *entryCache) get(lo, hi uint64) []pb.Entry {
	first, ok := c.first()
	if !ok || lo < first {
		return nil
	}
	k := c.chunkOf(lo)
	ch := c.chunks[k].ents
	at := lo - ch[0].Index
	if hi-ch[0].Index <= uint64(len(ch)) {
		end := hi - ch[0].Index
		return ch[at:end:end]
	}
	out := make([]pb.Entry, 0, hi-lo)
	out = append(out, ch[at:]...)
	for _, ch := range c.chunks[k+1:] {
		if n := hi - ch.ents[0].Index; n <= uint64(len(ch.ents)) {
			return append(out, ch.ents[:n]...)
		}
		out = append(out, ch.ents...)
	}
	return out
}

// append adds ents, consecutive, after discarding the cached entries at or
// after ents[0].Index; ents must start at most one past the log's last
// entry.
func (c *entryCache) append(ents []pb.Entry) {
	if len(ents) == 0 || c.maxBytes == 0 {
		return
	}
	if first, ok := c.first(); ok {
		switch at := ents[0].Index; {
		case at <= first || at > c.last()+1:
			c.reset()
		case at <= c.last():
			c.truncate(at)
		}
	}
	for len(ents) > 0 {
		n := len(c.chunks)
		switch {
		case n == 0 || len(c.chunks[n-1].ents) == cacheChunk:
			c.chunks = append(c.chunks, entryChunk{
				ents:   make([]pb.Entry, 0, cacheChunk),
				starts: make([]uint64, 0, cacheChunk),
			})
			n++
		case len(c.chunks[n-1].ents) == cap(c.chunks[n-1].ents):
			// A chunk capped by truncate, or shortened at the front by
			// eviction, moves to a new array to fill up.
			ch := &c.chunks[n-1]
			ch.ents = append(make([]pb.Entry, 0, cacheChunk), ch.ents...)
			ch.starts = append(make([]uint64, 0, cacheChunk), ch.starts...)
		}
		ch := &c.chunks[n-1]
		// NB: as many as the chunk has room for, in one copy.
		k := min(len(ents), cap(ch.ents)-len(ch.ents), cacheChunk-len(ch.ents))
		ch.ents = append(ch.ents, ents[:k]...)
		for i := range ents[:k] {
			ch.starts = append(ch.starts, c.end)
			c.end += cachedSize(&ents[i])
		}
		ents = ents[k:]
	}
	c.evict()
}

// truncate discards the cached entries from at on; at must be cached and
// not the first.
func (c *entryCache) truncate(at uint64) {
	k := c.chunkOf(at)
	ch := &c.chunks[k]
	n := at - ch.ents[0].Index
	c.end = ch.starts[n]
	clear(c.chunks[k+1:])
	c.chunks = c.chunks[:k+1]
	if n == 0 {
		c.chunks[k] = entryChunk{}
		c.chunks = c.chunks[:k]
		return
	}
	// NB: capped, so that the next append copies rather than overwrites
	// entries that callers may hold.
	ch.ents, ch.starts = ch.ents[:n:n], ch.starts[:n:n]
}

// evict drops the oldest entries until the cache fits in maxBytes: those
// that start before end-maxBytes.
func (c *entryCache) evict() {
	if c.end <= c.maxBytes {
		return
	}
	keep := c.end - c.maxBytes
	for len(c.chunks) > 0 {
		ch := &c.chunks[0]
		if ch.starts[len(ch.starts)-1] < keep {
			c.dropFirstChunk()
			continue
		}
		ch.dropFront(sort.Search(len(ch.starts), func(k int) bool { return ch.starts[k] >= keep }))
		return
	}
}

// compact drops the cached entries up to and including i.
func (c *entryCache) compact(i uint64) {
	for len(c.chunks) > 0 && c.chunks[0].ents[0].Index <= i {
		ch := &c.chunks[0]
		if k := i + 1 - ch.ents[0].Index; k < uint64(len(ch.ents)) {
			ch.dropFront(int(k))
			return
		}
		c.dropFirstChunk()
	}
}

// dropFirstChunk drops the oldest chunk.
func (c *entryCache) dropFirstChunk() {
	c.chunks[0] = entryChunk{}
	c.chunks = c.chunks[1:]
}

// reset empties the cache.
func (c *entryCache) reset() {
	clear(c.chunks)
	c.chunks, c.end = c.chunks[:0], 0
}

// cachedEntrySize is the memory the cache spends on an entry besides its
// data: the Entry and its position.
const cachedEntrySize = 48 + 8

// cachedSize is the memory the cache spends on e.
func cachedSize(e *pb.Entry) uint64 { return cachedEntrySize + uint64(len(e.Data)) }
