package wal_test

import (
	"bufio"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/quorate/raft/rafttest/sim"
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
//
// This file holds the runs, the sweeps and the tests; the disks and their
// crashes are in sim_disks_test.go, the storage and peer a node runs on in
// sim_store_test.go.

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
	// snapshots, compaction and crashes that reopen stores. NB: -short's
	// quarter of the seeds is too few for the rarer crash outcomes.
	if to-from >= 16 && !testing.Short() {
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
