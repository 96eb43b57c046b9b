package wal

import (
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
type entryCache struct {
	maxBytes uint64
	// bytes is the sum of cachedSize of the cached entries.
	bytes uint64
	// chunks hold consecutive entries and, when not empty, end at the
	// log's last entry. Invariant: no chunk is empty, and every chunk but
	// the first and the last holds cacheChunk entries.
	chunks [][]pb.Entry
}

// first returns the index of the first cached entry, and false if the
// cache is empty.
func (c *entryCache) first() (uint64, bool) {
	if len(c.chunks) == 0 {
		return 0, false
	}
	return c.chunks[0][0].Index, true
}

// last returns the index of the last cached entry; the cache must not be
// empty.
func (c *entryCache) last() uint64 {
	ch := c.chunks[len(c.chunks)-1]
	return ch[len(ch)-1].Index
}

// chunkOf returns the position of the chunk holding cached entry i.
func (c *entryCache) chunkOf(i uint64) int {
	// Chunks after the first are full but for the last, so the position
	// follows from the index.
	first := c.chunks[0]
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
	ch := c.chunks[k]
	at := lo - ch[0].Index
	if hi-ch[0].Index <= uint64(len(ch)) {
		end := hi - ch[0].Index
		return ch[at:end:end]
	}
	out := make([]pb.Entry, 0, hi-lo)
	out = append(out, ch[at:]...)
	for _, ch := range c.chunks[k+1:] {
		if n := hi - ch[0].Index; n <= uint64(len(ch)) {
			return append(out, ch[:n]...)
		}
		out = append(out, ch...)
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
	for i := range ents {
		c.bytes += cachedSize(&ents[i])
	}
	for len(ents) > 0 {
		n := len(c.chunks)
		switch {
		case n == 0 || len(c.chunks[n-1]) == cacheChunk:
			c.chunks = append(c.chunks, make([]pb.Entry, 0, cacheChunk))
			n++
		case len(c.chunks[n-1]) == cap(c.chunks[n-1]):
			// A chunk capped by truncate, or shortened at the front by
			// eviction, moves to a new array to fill up.
			c.chunks[n-1] = append(make([]pb.Entry, 0, cacheChunk), c.chunks[n-1]...)
		}
		// NB: as many as the chunk has room for, in one copy.
		k := min(len(ents), cap(c.chunks[n-1])-len(c.chunks[n-1]), cacheChunk-len(c.chunks[n-1]))
		c.chunks[n-1] = append(c.chunks[n-1], ents[:k]...)
		ents = ents[k:]
	}
	c.evict()
}

// truncate discards the cached entries from at on; at must be cached and
// not the first.
func (c *entryCache) truncate(at uint64) {
	k := c.chunkOf(at)
	for _, ch := range c.chunks[k:] {
		for i := range ch {
			if ch[i].Index >= at {
				c.bytes -= cachedSize(&ch[i])
			}
		}
	}
	ch := c.chunks[k]
	n := at - ch[0].Index
	clear(c.chunks[k+1:])
	c.chunks = c.chunks[:k+1]
	if n == 0 {
		c.chunks = c.chunks[:k]
		return
	}
	// NB: capped, so that the next append copies rather than overwrites
	// entries that callers may hold.
	c.chunks[k] = ch[:n:n]
}

// evict drops the oldest entries until the cache fits in maxBytes.
func (c *entryCache) evict() {
	for c.bytes > c.maxBytes && len(c.chunks) > 0 {
		ch := c.chunks[0]
		k := 0
		for k < len(ch) && c.bytes > c.maxBytes {
			c.bytes -= cachedSize(&ch[k])
			k++
		}
		c.dropFront(k)
	}
}

// compact drops the cached entries up to and including i.
func (c *entryCache) compact(i uint64) {
	for len(c.chunks) > 0 && c.chunks[0][0].Index <= i {
		ch := c.chunks[0]
		k := int(min(i+1-ch[0].Index, uint64(len(ch))))
		for e := range ch[:k] {
			c.bytes -= cachedSize(&ch[e])
		}
		c.dropFront(k)
	}
}

// dropFront drops the first k entries of the first chunk, and the chunk if
// that empties it. NB: evict and compact reslice a chunk once for all the
// entries they drop from it, not once per entry.
func (c *entryCache) dropFront(k int) {
	if k < len(c.chunks[0]) {
		c.chunks[0] = c.chunks[0][k:]
		return
	}
	c.chunks[0] = nil
	c.chunks = c.chunks[1:]
}

// reset empties the cache.
func (c *entryCache) reset() {
	clear(c.chunks)
	c.chunks, c.bytes = c.chunks[:0], 0
}

// entryStructSize is the memory an Entry takes besides its data.
const entryStructSize = 48

// cachedSize is the memory the cache spends on e: its struct and its data.
func cachedSize(e *pb.Entry) uint64 { return entryStructSize + uint64(len(e.Data)) }
