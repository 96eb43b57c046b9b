package faultfs

// What survives a Crash: the CrashPlan that decides it, and the crash of each
// directory's names and each file's content back to their durable state plus
// the prefix of unsynced changes the plan keeps.

import (
	"math/rand/v2"
	"path/filepath"
	"sort"
)

// CrashPlan decides what of the unsynced state survives a Crash. The zero
// CrashPlan keeps nothing unsynced.
type CrashPlan struct {
	// KeepBytes returns how many of the n bytes written to file path since
	// its last sync survive, in the order they were written: the writes
	// before that point survive whole, the one it falls in is torn there,
	// and later ones are lost. A truncation survives if everything written
	// before it does and something after it does too (or everything
	// unsynced survives). Results are clamped to [0, n]. nil keeps none.
	KeepBytes func(path string, n int) int
	// KeepDirOps returns how many of the n name changes (creations,
	// renames, removals) made in dir since its last SyncDir survive, as a
	// prefix in the order they were made. nil keeps none.
	KeepDirOps func(dir string, n int) int
}

// KeepAll is the CrashPlan that keeps every unsynced change, as a crash of
// the process alone (not of the machine) does.
var KeepAll = CrashPlan{
	KeepBytes:  func(_ string, n int) int { return n },
	KeepDirOps: func(_ string, n int) int { return n },
}

// RandomPlan returns a CrashPlan that keeps a uniformly random prefix of
// each file's unsynced bytes and of each directory's unsynced name changes,
// drawn from rng.
func RandomPlan(rng *rand.Rand) CrashPlan {
	return CrashPlan{
		KeepBytes:  func(_ string, n int) int { return rng.IntN(n + 1) },
		KeepDirOps: func(_ string, n int) int { return rng.IntN(n + 1) },
	}
}

// Crash simulates a machine crash: every File opened so far fails with
// ErrCrashed from now on, and the file system keeps only what was durable
// plus what plan lets survive.
func (fs *FS) Crash(plan CrashPlan) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.gen++
	paths := make([]string, 0, len(fs.dirs))
	for p := range fs.dirs {
		paths = append(paths, p)
	}
	// NB: sorted, so that a plan drawing from a seeded source is
	// deterministic.
	sort.Strings(paths)
	recovered := map[*inode]bool{}
	for _, p := range paths {
		d := fs.dirs[p]
		keep := 0
		if plan.KeepDirOps != nil && len(d.pending) > 0 {
			keep = clamp(plan.KeepDirOps(p, len(d.pending)), len(d.pending))
		}
		names := d.durable
		for _, op := range d.pending[:keep] {
			op.apply(names)
		}
		d.names = names
		d.durable = make(map[string]*inode, len(names))
		sorted := make([]string, 0, len(names))
		for n, node := range names {
			d.durable[n] = node
			sorted = append(sorted, n)
		}
		d.pending = nil
		sort.Strings(sorted)
		for _, n := range sorted {
			node := names[n]
			if !recovered[node] {
				recovered[node] = true
				node.crash(filepath.Join(p, n), plan.KeepBytes)
			}
		}
	}
}

func clamp(v, n int) int { return max(0, min(v, n)) }

// crash replaces the node's content with what survives.
func (n *inode) crash(path string, keepBytes func(string, int) int) {
	total := 0
	for _, op := range n.log {
		total += len(op.data)
	}
	budget := 0
	if keepBytes != nil && len(n.log) > 0 {
		budget = clamp(keepBytes(path, total), total)
	}
	data := n.synced
	used := 0
	for _, op := range n.log {
		if op.data == nil {
			if budget > used || budget == total {
				data = resize(data, op.size)
			}
			continue
		}
		k := min(len(op.data), budget-used)
		if k <= 0 {
			break
		}
		data = append(data[:len(data):len(data)], op.data[:k]...)
		used += k
		if k < len(op.data) {
			break
		}
	}
	n.data = data
	n.synced = data
	n.log = nil
}
