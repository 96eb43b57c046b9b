package wal_test

// The disks of the simulation on wal stores: each node's faultfs.FS, crashed
// with a plan drawn from the run's seed whenever the simulation reopens the
// node's storage, the store then opened from what survived, and the counts
// of what the crashes and the stores did.

import (
	"fmt"
	"math/rand/v2"

	"github.com/quorate/raft/rafttest/sim"
	"github.com/quorate/raft/wal"
	"github.com/quorate/raft/wal/vfs/faultfs"
)

// simDir is the directory of a simulated node's store on its file system.
const simDir = "/raft"

// simDisks is the sim.StorageFactory of one run: every node keeps its log
// in a wal.Store on its own faultfs.FS. Reopening a node (a restart after a
// crash, or after its removal) first crashes its file system with a plan
// drawn from the run's seed, then opens the store from what survived.
type simDisks struct {
	// lazy is set if writes of the commit index alone are left unsynced.
	lazy bool
	// rng draws the crash plans and the stores' options, in the order the
	// simulation opens stores, which the seed fixes.
	rng   *rand.Rand
	disks [sim.MaxNodes + 1]*simDisk
	stats simStats
	// unexpected lists the errors a correct store never returns to this
	// simulation, but that the simulation does not itself treat as
	// failures (it only traces a failed CreateSnapshot or Compact).
	unexpected []string
}

// simDisk is the file system of one node and its latest store.
type simDisk struct {
	fs    *faultfs.FS
	store *simStore // nil until the node's first Open
}

// simStats counts what the stores did in a run, or in a sweep.
type simStats struct {
	// Opens counts the stores opened, Reopens those opened after a crash.
	Opens, Reopens int
	// UnsyncedCrashes counts the crashes that found unsynced bytes in some
	// file; LostBytes the bytes they lost, TornFiles the files cut within
	// their unsynced bytes, LostDirOps the unsynced name changes lost.
	UnsyncedCrashes, LostBytes, TornFiles, LostDirOps int
	// Saves and SaveAppends count the calls the host made for the writes
	// raft handed out; AddedSyncs the writes that only moved the commit
	// index, which the store does not sync but the simulation's Storage
	// contract wants durable unless lazy, so the adapter synced them.
	Saves, SaveAppends, AddedSyncs int
	// Snapshots and Compactions count the host's CreateSnapshot and
	// Compact calls that succeeded.
	Snapshots, Compactions int
}

func (s *simStats) add(o *simStats) {
	s.Opens += o.Opens
	s.Reopens += o.Reopens
	s.UnsyncedCrashes += o.UnsyncedCrashes
	s.LostBytes += o.LostBytes
	s.TornFiles += o.TornFiles
	s.LostDirOps += o.LostDirOps
	s.Saves += o.Saves
	s.SaveAppends += o.SaveAppends
	s.AddedSyncs += o.AddedSyncs
	s.Snapshots += o.Snapshots
	s.Compactions += o.Compactions
}

func newSimDisks(seed uint64) *simDisks {
	return &simDisks{rng: rand.New(rand.NewPCG(seed, 0x77616c73696d)), lazy: seed>>4&1 != 0}
}

// Open implements sim.StorageFactory.
func (d *simDisks) Open(id uint64) (sim.Storage, error) {
	disk := d.disks[id]
	if disk == nil {
		disk = &simDisk{fs: faultfs.New()}
		d.disks[id] = disk
	}
	if disk.store != nil {
		// NB: Close syncs nothing, so closing the dead incarnation's store
		// first changes nothing of what the crash keeps.
		if err := disk.store.Close(); err != nil {
			d.unexpectedf(id, "closing the crashed incarnation's store: %v", err)
		}
		d.crash(disk.fs)
		d.stats.Reopens++
	}
	opts := wal.Options{
		FS:           disk.fs,
		SegmentBytes: pickOne(d.rng, []int64{wal.MinSegmentBytes, 4 * wal.MinSegmentBytes, 0}),
		CacheBytes:   pickOne(d.rng, []int64{-1, 1 << 10, 16 << 10, 0}),
	}
	s, err := wal.Open(simDir, opts)
	if err != nil {
		return nil, err
	}
	d.stats.Opens++
	st := &simStore{Store: s, disks: d, disk: disk, id: id}
	disk.store = st
	return st, nil
}

// crash crashes fs with a plan drawn from the run's source: one that keeps
// nothing unsynced (a power loss), one that keeps everything (the process
// alone died), or one that keeps a random prefix of every file's and
// directory's unsynced changes (a power loss in the middle of writing).
func (d *simDisks) crash(fs *faultfs.FS) {
	var plan faultfs.CrashPlan
	switch d.rng.IntN(4) {
	case 0:
	case 1:
		plan = faultfs.KeepAll
	default:
		plan = faultfs.RandomPlan(d.rng)
	}
	unsynced := false
	fs.Crash(faultfs.CrashPlan{
		KeepBytes: func(path string, n int) int {
			k := 0
			if plan.KeepBytes != nil {
				k = max(0, min(plan.KeepBytes(path, n), n))
			}
			if n > 0 {
				unsynced = true
			}
			d.stats.LostBytes += n - k
			if 0 < k && k < n {
				d.stats.TornFiles++
			}
			return k
		},
		KeepDirOps: func(dir string, n int) int {
			k := 0
			if plan.KeepDirOps != nil {
				k = max(0, min(plan.KeepDirOps(dir, n), n))
			}
			d.stats.LostDirOps += n - k
			return k
		},
	})
	if unsynced {
		d.stats.UnsyncedCrashes++
	}
}

func (d *simDisks) unexpectedf(id uint64, format string, args ...any) {
	d.unexpected = append(d.unexpected, fmt.Sprintf("node %d: ", id)+fmt.Sprintf(format, args...))
}

func pickOne[T any](r *rand.Rand, choices []T) T { return choices[r.IntN(len(choices))] }
