package wal

import (
	pb "github.com/quorate/raft/raftpb"
)

// entryCache holds the most recent entries in memory, up to about maxBytes
// of them (by Entry.Size), so that followers and the apply loop read them
// without touching the disk.
//
// Slices returned by get alias ents and are capped (cap == len), so an
// append by their holder copies. The cache never writes an element of ents
// that a returned slice may see: it only appends past len(ents), and after
// a truncation it caps ents so that the next append moves to a new array.
// NB: dropping entries from the front only reslices, so the dropped entries
// stay reachable until the array is next reallocated; the memory held is
// thus up to about twice maxBytes.
type entryCache struct {
	maxBytes uint64
	// bytes is the sum of Size() of ents.
	bytes uint64
	// ents are consecutive entries and, when not empty, end at the log's
	// last entry. Invariant: ents[k].Index == ents[0].Index+k.
	ents []pb.Entry
}

// first returns the index of the first cached entry, and false if the
// cache is empty.
func (c *entryCache) first() (uint64, bool) {
	if len(c.ents) == 0 {
		return 0, false
	}
	return c.ents[0].Index, true
}

// get returns the cached entries [lo, hi), or nil if lo is not cached. hi
// must not pass the last cached entry + 1.
func (c *entryCache) get(lo, hi uint64) []pb.Entry {
	first, ok := c.first()
	if !ok || lo < first {
		return nil
	}
	return c.ents[lo-first : hi-first : hi-first]
}

// append adds ents, consecutive, after discarding the cached entries at or
// after ents[0].Index; ents must start at most one past the log's last
// entry. Entries too large for the cache leave it empty.
func (c *entryCache) append(ents []pb.Entry) {
	if len(ents) == 0 || c.maxBytes == 0 {
		return
	}
	first, ok := c.first()
	switch at := ents[0].Index; {
	case !ok || at <= first || at > first+uint64(len(c.ents)):
		c.reset()
	case at < first+uint64(len(c.ents)):
		k := at - first
		for i := range c.ents[k:] {
			c.bytes -= uint64(c.ents[k+uint64(i)].Size())
		}
		// NB: capped, so that the next append copies rather than
		// overwrites entries that callers may hold.
		c.ents = c.ents[:k:k]
	}
	for i := range ents {
		c.bytes += uint64(ents[i].Size())
	}
	c.ents = append(c.ents, ents...)
	c.evict()
}

// evict drops the oldest entries until the cache fits in maxBytes.
func (c *entryCache) evict() {
	k := 0
	for c.bytes > c.maxBytes && k < len(c.ents) {
		c.bytes -= uint64(c.ents[k].Size())
		k++
	}
	if k == len(c.ents) {
		c.reset()
		return
	}
	c.ents = c.ents[k:]
}

// compact drops the cached entries up to and including i.
func (c *entryCache) compact(i uint64) {
	first, ok := c.first()
	if !ok || i < first {
		return
	}
	k := min(i-first+1, uint64(len(c.ents)))
	for _, e := range c.ents[:k] {
		c.bytes -= uint64(e.Size())
	}
	if k == uint64(len(c.ents)) {
		c.reset()
		return
	}
	c.ents = c.ents[k:]
}

// reset empties the cache.
func (c *entryCache) reset() {
	c.ents, c.bytes = nil, 0
}
