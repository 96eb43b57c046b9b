package wal_test

import (
	"bufio"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/rafttest/sim"
	"github.com/quorate/raft/wal"
	"github.com/quorate/raft/wal/vfs/faultfs"
)

// This file runs the cluster simulation of package sim with every node on a
// wal.Store over its own faultfs.FS. Raft reads through the store; the host
// persists each Ready with Save and each MsgStorageAppend with SaveAppends,
// as a durable host does; every crash of the simulation crashes the node's
// file system with a plan drawn from the run's seed, and the restart opens
// the store again from what survived. The simulation's oracles then check
// that everything written before the crash is there, and that the cluster
// stayed safe on it; and a run must go step for step as the same seed does
// on MemoryStorage.
//
// In half of the runs (bit 4 of the seed set) the store is a
// sim.LazyCommitStorage: the writes that only move the commit index are
// left unsynced, as the store leaves them, and a crash may lose or tear
// them. In the others the host syncs them, as the simulation's Storage
// wants every write durable, and the run must then go step for step as the
// same seed on MemoryStorage. In both, after every write the store reports
// durable, a crashed copy of the file system must lose nothing
// (checkDurable).

var (
	walsimSeeds    = flag.String("walsim.seeds", "", "sweep the seeds FROM:TO (TO excluded) of the simulation on wal stores, instead of the CI sweep")
	walsimSeed     = flag.Uint64("walsim.seed", 0, "run only this seed of the simulation on wal stores (with -walsim.trace to see its events)")
	walsimSteps    = flag.Int("walsim.steps", 0, "chaos-phase steps per seed (0: the CI sweep's, or sim.DefaultSteps with -walsim.seeds or -walsim.seed)")
	walsimLive     = flag.Int("walsim.livesteps", 0, "liveness-phase step budget per seed (0: sim.DefaultLivenessSteps)")
	walsimParallel = flag.Int("walsim.parallel", 0, "runs at a time (0: GOMAXPROCS)")
	walsimTrace    = flag.Bool("walsim.trace", false, "write the trace of the -walsim.seed run to stdout")
	walsimRaftLog  = flag.Bool("walsim.raftlog", false, "add the nodes' own log lines to the trace")
)

// The CI sweep: seeds [1, 1+walsimCISeeds), four of each of the 16
// combinations of the simulation's modes (the low four bits of the seed),
// with a shorter chaos phase than the simulation's own sweep.
const (
	walsimCISeeds = 64
	walsimCISteps = 3000
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

// simStore is the sim.Storage of one incarnation of a node: a wal.Store
// that raft reads through, written as a durable host writes it. The
// simulation's host persists a Ready (or a MsgStorageAppend) in up to three
// calls, ApplySnapshot, Append and SetHardState, each of which must be
// durable when it returns; the store instead takes the whole write in one
// Save (or SaveAppends) call. So the peer (simPeer) tells the store what
// raft hands out, and the first of the host's calls for a write saves it
// whole, while the others only check that the host persists what raft
// handed out. All the calls of one write happen in one step of the
// simulation, so no crash falls between them.
type simStore struct {
	*wal.Store
	disks *simDisks
	disk  *simDisk
	id    uint64
	// handed holds the writes raft handed out that the host has not
	// persisted yet, oldest first: Readies without AsyncStorageWrites, the
	// MsgStorageAppend messages with it. Those with nothing to persist are
	// left out, since the host makes no call for them.
	handed []handedWrite
	// cur is the write the host is persisting, between the call that saved
	// it and the last call it makes for it; nil otherwise.
	cur *handedWrite
}

// writePart is one of the host's calls for a write, in the order it makes
// them.
type writePart uint8

const (
	partSnapshot writePart = 1 << iota
	partEntries
	partHardState
)

func (p writePart) String() string {
	switch p {
	case partSnapshot:
		return "ApplySnapshot"
	case partEntries:
		return "Append"
	case partHardState:
		return "SetHardState"
	}
	return "nothing"
}

// handedWrite is a write raft handed out: a Ready (rd) or a
// MsgStorageAppend (msg), and what it asks to persist.
type handedWrite struct {
	rd   *raft.Ready
	msg  *pb.Message
	hs   pb.HardState
	ents []pb.Entry
	snap pb.Snapshot
	// parts are the calls the host has still to make for it.
	parts writePart
}

func newHandedWrite(hs pb.HardState, ents []pb.Entry, snap pb.Snapshot) handedWrite {
	w := handedWrite{hs: hs, ents: ents, snap: snap}
	if !raft.IsEmptySnap(snap) {
		w.parts |= partSnapshot
	}
	if len(ents) > 0 {
		w.parts |= partEntries
	}
	if !raft.IsEmptyHardState(hs) {
		w.parts |= partHardState
	}
	return w
}

// next returns the host's next call for w.
func (w *handedWrite) next() writePart { return w.parts & -w.parts }

func (w *handedWrite) String() string {
	var what []string
	if !raft.IsEmptySnap(w.snap) {
		what = append(what, "snapshot "+raft.DescribeSnapshot(w.snap))
	}
	if k := len(w.ents); k > 0 {
		what = append(what, fmt.Sprintf("entries %d-%d", w.ents[0].Index, w.ents[k-1].Index))
	}
	if !raft.IsEmptyHardState(w.hs) {
		what = append(what, "HardState "+raft.DescribeHardState(w.hs))
	}
	kind := "a Ready"
	if w.msg != nil {
		kind = "a MsgStorageAppend"
	}
	return kind + " with " + strings.Join(what, ", ")
}

// handOut records what raft handed out in rd, for the host to persist.
func (s *simStore) handOut(rd raft.Ready, async bool) {
	if !async {
		w := newHandedWrite(rd.HardState, rd.Entries, rd.Snapshot)
		if w.parts != 0 {
			w.rd = &rd
			s.handed = append(s.handed, w)
		}
		return
	}
	for _, m := range rd.Messages {
		if m.To != raft.LocalAppendThread {
			continue
		}
		var snap pb.Snapshot
		if m.Snapshot != nil {
			snap = *m.Snapshot
		}
		w := newHandedWrite(pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}, m.Entries, snap)
		if w.parts != 0 {
			w.msg = &m
			s.handed = append(s.handed, w)
		}
	}
}

// ApplySnapshot implements sim.Storage.
func (s *simStore) ApplySnapshot(snap pb.Snapshot) error {
	return s.persist(partSnapshot, func(w *handedWrite) bool {
		return w.snap.Metadata.Index == snap.Metadata.Index && w.snap.Metadata.Term == snap.Metadata.Term
	}, func() error {
		return s.Store.ApplySnapshot(snap)
	})
}

// Append implements sim.Storage.
func (s *simStore) Append(ents []pb.Entry) error {
	return s.persist(partEntries, func(w *handedWrite) bool {
		k := len(ents) - 1
		return len(w.ents) == len(ents) && w.ents[0].Index == ents[0].Index && w.ents[k].Term == ents[k].Term
	}, func() error {
		return s.Store.Save(raft.Ready{Entries: ents, MustSync: true})
	})
}

// SetHardState implements sim.Storage.
func (s *simStore) SetHardState(hs pb.HardState) error {
	return s.persist(partHardState, func(w *handedWrite) bool {
		return w.hs == hs
	}, func() error {
		return s.Store.Save(raft.Ready{HardState: hs, MustSync: true})
	})
}

// persist carries out the host's call p: it saves the oldest write handed
// out if the call is the first for it, and checks that the call persists
// what that write carries (matches). A call when nothing was handed out is
// the simulation bootstrapping the node: direct makes the write alone.
func (s *simStore) persist(p writePart, matches func(w *handedWrite) bool, direct func() error) error {
	if s.cur == nil {
		if len(s.handed) == 0 {
			if err := direct(); err != nil {
				return err
			}
			return s.checkDurable(p.String())
		}
		w := s.handed[0]
		s.handed = s.handed[1:]
		if err := s.save(&w); err != nil {
			return err
		}
		s.cur = &w
	}
	w := s.cur
	if next := w.next(); next != p || !matches(w) {
		return fmt.Errorf("walsim: the host called %s where %s of %s came next", p, next, w)
	}
	if w.parts &^= p; w.parts == 0 {
		s.cur = nil
	}
	return nil
}

// save persists w with the call a durable host makes for it: Save for a
// Ready, SaveAppends for a MsgStorageAppend, whose responses must be those
// raft attached to it. Then everything the store wrote must be durable.
func (s *simStore) save(w *handedWrite) error {
	synced := false
	if w.rd != nil {
		s.disks.stats.Saves++
		if err := s.Store.Save(*w.rd); err != nil {
			return err
		}
		synced = w.rd.MustSync || !raft.IsEmptySnap(w.rd.Snapshot)
	} else {
		s.disks.stats.SaveAppends++
		prev, _, err := s.Store.InitialState()
		if err != nil {
			return err
		}
		resps, err := s.Store.SaveAppends(*w.msg)
		if err != nil {
			return err
		}
		if len(resps) != len(w.msg.Responses) || len(resps) > 0 && !reflect.DeepEqual(resps, w.msg.Responses) {
			return fmt.Errorf("walsim: SaveAppends returned the responses %s, want those of the message, %s",
				describeMessages(resps), describeMessages(w.msg.Responses))
		}
		hs := w.hs
		if raft.IsEmptyHardState(hs) {
			hs = prev
		}
		synced = !raft.IsEmptySnap(w.snap) || raft.MustSync(hs, prev, len(w.ents))
	}
	if !synced {
		// NB: a write that only moves the commit index need not be
		// durable (raft learns the index again from the leader), and the
		// store does not sync it; but unless it is a LazyCommitStorage,
		// the simulation wants every write durable, and checks the
		// commit index after a crash against the last one written. So
		// the host syncs it.
		if s.disks.lazy {
			return nil
		}
		s.disks.stats.AddedSyncs++
		if err := s.Store.Save(raft.Ready{MustSync: true}); err != nil {
			return err
		}
	}
	return s.checkDurable(w.String())
}

// checkDurable checks that everything the store has written is durable,
// as it must be once a synced call returns: a copy of the file system
// crashed with a plan that keeps nothing unsynced loses no byte of any file
// and no name in the store's directory.
func (s *simStore) checkDurable(call string) error {
	fs := s.disk.fs
	names, err := fs.List(simDir)
	if err != nil {
		return err
	}
	var lost []string
	crashed := fs.Clone()
	crashed.Crash(faultfs.CrashPlan{KeepBytes: func(path string, n int) int {
		if n > 0 {
			lost = append(lost, fmt.Sprintf("%d bytes of %s", n, path))
		}
		return 0
	}})
	kept, err := crashed.List(simDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !slices.Contains(kept, n) {
			lost = append(lost, "the name "+n)
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("walsim: after %s returned, a crash would lose %s", call, strings.Join(lost, ", "))
	}
	return nil
}

// LazyCommit implements sim.LazyCommitStorage.
func (s *simStore) LazyCommit() bool { return s.disks.lazy }

// CreateSnapshot implements sim.Storage. The simulation only snapshots at
// an index past the current snapshot and within the log, so any error is
// unexpected.
func (s *simStore) CreateSnapshot(i uint64, cs *pb.ConfState, data []byte) (pb.Snapshot, error) {
	snap, err := s.Store.CreateSnapshot(i, cs, data)
	if err == nil {
		err = s.checkDurable(fmt.Sprintf("CreateSnapshot(%d)", i))
	}
	if err != nil {
		s.disks.unexpectedf(s.id, "CreateSnapshot(%d): %v", i, err)
		return snap, err
	}
	s.disks.stats.Snapshots++
	return snap, nil
}

// Compact implements sim.Storage. The simulation only compacts past the
// compacted index and up to the snapshot it just created, so any error is
// unexpected.
func (s *simStore) Compact(i uint64) error {
	err := s.Store.Compact(i)
	if err == nil {
		err = s.checkDurable(fmt.Sprintf("Compact(%d)", i))
	}
	if err != nil {
		s.disks.unexpectedf(s.id, "Compact(%d): %v", i, err)
		return err
	}
	s.disks.stats.Compactions++
	return nil
}

func describeMessages(ms []pb.Message) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = raft.DescribeMessage(m, nil)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// simPeer is the library's RawNode, which also tells its store what each
// Ready hands out to be persisted.
type simPeer struct {
	*raft.RawNode
	store *simStore
	async bool
}

// Ready implements sim.Peer.
func (p *simPeer) Ready() raft.Ready {
	rd := p.RawNode.Ready()
	p.store.handOut(rd, p.async)
	return rd
}

// newSimPeer is the sim.PeerFactory of runs on simDisks.
func newSimPeer(cfg *raft.Config) (sim.Peer, error) {
	st, ok := cfg.Storage.(*simStore)
	if !ok {
		return nil, fmt.Errorf("walsim: the peer's storage is a %T, want a *simStore", cfg.Storage)
	}
	rn, err := raft.NewRawNode(cfg)
	if err != nil {
		return nil, err
	}
	return &simPeer{RawNode: rn, store: st, async: cfg.AsyncStorageWrites}, nil
}

// walsimRun is the outcome of one seed on simDisks, and of the same seed on
// the simulation's default storage, raft.MemoryStorage.
type walsimRun struct {
	sim.Result
	disks  *simDisks
	memory sim.Result
}

// runOnWAL runs one seed of the simulation with every node on a wal.Store,
// then, if compare and the stores are not lazy, again on MemoryStorage.
func runOnWAL(seed uint64, steps, liveSteps int, compare bool, trace io.Writer, raftLog bool) walsimRun {
	var disks *simDisks
	r := sim.Run(sim.Options{
		Seed: seed, Steps: steps, LivenessSteps: liveSteps,
		Peers:      newSimPeer,
		NewStorage: func() sim.StorageFactory { disks = newSimDisks(seed); return disks },
		Trace:      trace, RaftLog: raftLog,
	})
	run := walsimRun{Result: r, disks: disks}
	if compare && !disks.lazy {
		run.memory = sim.Run(sim.Options{Seed: seed, Steps: steps, LivenessSteps: liveSteps})
	}
	return run
}

// sameRun reports whether two runs of a seed went the same way. A run on
// wal stores that are not lazy must go as the run of the same seed on
// MemoryStorage does, step for step: the store answers every read as
// MemoryStorage does and, since every write is synced, keeps everything
// across a crash, so raft, the host and the oracles see the same in both.
func sameRun(a, b *sim.Result) bool {
	return a.String() == b.String() && a.Stats == b.Stats
}

// check reports what is wrong with r: a safety violation, a liveness
// failure other than a membership stall (a known library issue that has
// nothing to do with storage), a storage error, or a run that went
// otherwise than on MemoryStorage.
func (r *walsimRun) check(t *testing.T, steps int) {
	t.Helper()
	replay := replayCommand("./wal", "TestSimulationOnWAL", "walsim", r.Seed, steps)
	switch {
	case r.Violation != nil:
		t.Errorf("%s\n\treplay: %s", r.String(), replay)
	case r.Liveness != nil && r.Liveness.Class == sim.MembershipStall:
		t.Logf("seed %d: %s (not counted as a failure)", r.Seed, r.Liveness.Class)
	case r.Liveness != nil:
		t.Errorf("%s\n\treplay: %s", r.String(), replay)
	}
	for _, u := range r.disks.unexpected {
		t.Errorf("seed %d: unexpected storage error: %s\n\treplay: %s", r.Seed, u, replay)
	}
	if !r.disks.lazy && r.Violation == nil && len(r.disks.unexpected) == 0 && !sameRun(&r.Result, &r.memory) {
		t.Errorf("seed %d: got %s (stats %+v) on wal stores, want as on MemoryStorage %s (stats %+v)\n\treplay: %s\n\tand:    %s",
			r.Seed, r.String(), r.Stats, r.memory.String(), r.memory.Stats,
			replay, replayCommand("./rafttest/sim", "TestSimulation", "sim", r.Seed, steps))
	}
}

// replayCommand returns the command that replays seed with its trace, in
// the test of pkg whose flags start with prefix.
func replayCommand(pkg, test, prefix string, seed uint64, steps int) string {
	cmd := fmt.Sprintf("go test %s -run '%s$' -%s.seed=%d -%s.trace", pkg, test, prefix, seed, prefix)
	if steps != 0 {
		cmd += fmt.Sprintf(" -%s.steps=%d", prefix, steps)
	}
	if *walsimLive != 0 {
		cmd += fmt.Sprintf(" -%s.livesteps=%d", prefix, *walsimLive)
	}
	return cmd
}

// sweepOnWAL runs seeds [from, to), par at a time, and hands each outcome
// to each in seed order, from the calling goroutine.
func sweepOnWAL(from, to uint64, steps, liveSteps, par int, each func(r *walsimRun)) {
	count := int(to - from)
	runs := make([]walsimRun, count)
	done := make([]chan struct{}, count)
	for i := range done {
		done[i] = make(chan struct{})
	}
	next := make(chan int)
	go func() {
		for i := range count {
			next <- i
		}
		close(next)
	}()
	for range min(par, count) {
		go func() {
			for i := range next {
				runs[i] = runOnWAL(from+uint64(i), steps, liveSteps, true, nil, false)
				close(done[i])
			}
		}()
	}
	for i := range count {
		<-done[i]
		each(&runs[i])
		runs[i] = walsimRun{}
	}
}

// TestSimulationOnWAL runs the simulation's sweep with every node on a
// wal.Store over a faultfs.FS, crashed at each of the simulation's crashes,
// and fails on any safety violation, panic, storage error, liveness failure
// other than a membership stall (those are counted and logged), or run
// that goes otherwise than the same seed on MemoryStorage.
//
// The CI sweep runs walsimCISeeds seeds (a quarter of them with -short) of
// walsimCISteps chaos steps. -walsim.seeds=FROM:TO sweeps those seeds with
// the simulation's default steps (or -walsim.steps); -walsim.seed=S runs
// one seed, traced with -walsim.trace.
func TestSimulationOnWAL(t *testing.T) {
	if *walsimSeed != 0 {
		replayOnWAL(t, *walsimSeed)
		return
	}
	from, to, steps := uint64(1), uint64(1+walsimCISeeds), walsimCISteps
	if testing.Short() {
		to = 1 + walsimCISeeds/4
	}
	if *walsimSeeds != "" {
		if _, err := fmt.Sscanf(*walsimSeeds, "%d:%d", &from, &to); err != nil || to <= from {
			t.Fatalf("-walsim.seeds=%q: want FROM:TO with FROM < TO", *walsimSeeds)
		}
		steps = 0
	}
	if *walsimSteps != 0 {
		steps = *walsimSteps
	}
	par := *walsimParallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	sum := sim.Summary{Violations: map[sim.Oracle]int{}, Liveness: map[sim.LivenessClass]int{}, Tolerated: map[sim.Oracle]int{}}
	var stats simStats
	start := time.Now()
	sweepOnWAL(from, to, steps, *walsimLive, par, func(r *walsimRun) {
		sum.Runs++
		sum.Steps += int64(r.Stats.Steps)
		sum.CheckedReads += r.Stats.CheckedReads
		sum.UncheckedLeaseReads += r.Stats.UncheckedLeaseReads
		switch {
		case r.Violation != nil:
			sum.Violations[r.Violation.Oracle]++
		case r.Liveness != nil:
			sum.Liveness[r.Liveness.Class]++
		}
		stats.add(&r.disks.stats)
		r.check(t, steps)
	})
	elapsed := time.Since(start)
	t.Logf("%s\nstores: %+v\n%.0f steps/s on wal stores (wall clock, %d at a time, the same seeds on MemoryStorage included)",
		sum.String(), stats, float64(sum.Steps)/elapsed.Seconds(), par)

	// The sweep must have exercised what it claims to: both write paths,
	// snapshots, compaction and crashes that reopen stores.
	if to-from >= 16 {
		for _, c := range []struct {
			name string
			n    int
		}{
			{"Save calls", stats.Saves},
			{"SaveAppends calls", stats.SaveAppends},
			{"snapshots created", stats.Snapshots},
			{"compactions", stats.Compactions},
			{"stores reopened after a crash", stats.Reopens},
			{"crashes that found unsynced writes", stats.UnsyncedCrashes},
			{"files torn by a crash", stats.TornFiles},
		} {
			if c.n == 0 {
				t.Errorf("got no %s over seeds [%d, %d), want some", c.name, from, to)
			}
		}
	}
}

// replayOnWAL runs one seed, traced if asked.
func replayOnWAL(t *testing.T, seed uint64) {
	var trace io.Writer
	if *walsimTrace {
		w := bufio.NewWriter(os.Stdout)
		defer w.Flush()
		trace = w
	}
	r := runOnWAL(seed, *walsimSteps, *walsimLive, true, trace, *walsimRaftLog)
	t.Logf("%s\n%+v\nstores: %+v", r.String(), r.Stats, r.disks.stats)
	r.check(t, *walsimSteps)
}

// TestSimulationOnWALIsReproducible checks that a seed on wal stores gives
// the same run every time, in every mode, crash plans included, so that
// the replay command of a failed run shows what failed.
func TestSimulationOnWALIsReproducible(t *testing.T) {
	for seed := uint64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			type outcome struct {
				trace [sha256.Size]byte
				res   string
				stats sim.Stats
				disks simStats
			}
			play := func() outcome {
				h := sha256.New()
				r := runOnWAL(seed, 1000, 2000, false, h, true)
				o := outcome{res: r.String(), stats: r.Stats, disks: r.disks.stats}
				copy(o.trace[:], h.Sum(nil))
				return o
			}
			if got, want := play(), play(); got != want {
				t.Errorf("got %+v, want the first run's %+v", got, want)
			}
		})
	}
}
