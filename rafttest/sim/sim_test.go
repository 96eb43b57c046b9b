package sim

import (
	"bufio"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

var (
	flagSeed     = flag.Uint64("sim.seed", 0, "run only this seed (with -sim.trace to see its events)")
	flagTrace    = flag.Bool("sim.trace", false, "write the trace of the -sim.seed run to stdout, or to -sim.tracefile")
	flagTraceTo  = flag.String("sim.tracefile", "", "write the trace to this file instead of stdout")
	flagRaftLog  = flag.Bool("sim.raftlog", false, "include the nodes' own log lines in the trace")
	flagSteps    = flag.Int("sim.steps", 0, "chaos-phase steps per seed (0: DefaultSteps)")
	flagLive     = flag.Int("sim.livesteps", 0, "liveness-phase step budget per seed (0: DefaultLivenessSteps)")
	flagSeeds    = flag.String("sim.seeds", "", "sweep the seeds FROM:TO (TO excluded) instead of the CI sweep")
	flagParallel = flag.Int("sim.parallel", 0, "runs at a time in a sweep (0: GOMAXPROCS)")
	flagTolerate = flag.String("sim.tolerate", "", "comma-separated oracles whose violations do not stop a run (diagnosis only: the test still fails)")
	flagVerbose  = flag.Bool("sim.v", false, "log every run of a sweep, not only the failed ones")
)

// ciSteps is the number of steps the CI sweep runs at least, ciBatch the
// number of seeds it adds at a time until it has.
const (
	ciSteps      = 2_000_000
	ciShortSteps = 200_000
	ciBatch      = 32
)

// TestSimulation runs the CI sweep: seeds from 1 on, in batches, until at
// least ciSteps steps have run (ciShortSteps with -short). Every failed run
// is reported with the command that replays it. With -sim.seed it runs
// that seed alone, with -sim.seeds a range of seeds.
func TestSimulation(t *testing.T) {
	if *flagSeed != 0 {
		replay(t, *flagSeed, nil)
		return
	}
	opts := Options{Steps: *flagSteps, LivenessSteps: *flagLive, Tolerate: tolerated(t)}
	start := time.Now()
	var total Summary
	if *flagSeeds != "" {
		var from, to uint64
		if _, err := fmt.Sscanf(*flagSeeds, "%d:%d", &from, &to); err != nil || to <= from {
			t.Fatalf("-sim.seeds=%q: want FROM:TO with FROM < TO", *flagSeeds)
		}
		total = sweep(t, opts, from, to)
	} else {
		want := int64(ciSteps)
		if testing.Short() {
			want = ciShortSteps
		}
		for from := uint64(1); total.Steps < want; from += ciBatch {
			s := sweep(t, opts, from, from+ciBatch)
			total.merge(&s)
		}
		if total.Steps < want {
			t.Errorf("the sweep ran %d steps, want at least %d", total.Steps, want)
		}
	}
	elapsed := time.Since(start)
	t.Logf("%s\n%.0f steps/s (wall clock, %d at a time)", total.String(), float64(total.Steps)/elapsed.Seconds(), parallelism())
}

// sweep runs seeds [from, to) and reports every failed run.
func sweep(t *testing.T, opts Options, from, to uint64) Summary {
	t.Helper()
	return Sweep(SweepOptions{Options: opts, From: from, To: to, Parallel: *flagParallel,
		OnResult: func(r *Result) {
			switch {
			case r.Failed():
				t.Errorf("%s\n\treplay: %s", r.String(), replayCommand(r.Seed))
			case *flagVerbose:
				t.Logf("%s", r.String())
			}
		}})
}

func parallelism() int {
	if *flagParallel > 0 {
		return *flagParallel
	}
	return runtime.GOMAXPROCS(0)
}

// replayCommand returns the command that replays seed with its trace.
func replayCommand(seed uint64) string {
	cmd := fmt.Sprintf("go test ./rafttest/sim -run 'TestSimulation$' -sim.seed=%d -sim.trace", seed)
	if *flagSteps != 0 {
		cmd += fmt.Sprintf(" -sim.steps=%d", *flagSteps)
	}
	if *flagLive != 0 {
		cmd += fmt.Sprintf(" -sim.livesteps=%d", *flagLive)
	}
	return cmd
}

// replay runs one seed, traced if asked, with plan (if not nil) applied to
// the plan drawn from it.
func replay(t *testing.T, seed uint64, plan func(*Plan)) {
	opts := Options{Seed: seed, Steps: *flagSteps, LivenessSteps: *flagLive, RaftLog: *flagRaftLog, Tolerate: tolerated(t), Plan: plan}
	if *flagTrace {
		var out io.Writer = os.Stdout
		if *flagTraceTo != "" {
			f, err := os.Create(*flagTraceTo)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			out = f
		}
		w := bufio.NewWriter(out)
		defer w.Flush()
		opts.Trace = w
	}
	r := Run(opts)
	t.Logf("%s\n%+v", r.String(), r.Stats)
	if r.Failed() {
		t.Errorf("%s", r.String())
	}
}

func tolerated(t *testing.T) []Oracle {
	if *flagTolerate == "" {
		return nil
	}
	var os []Oracle
	for _, name := range strings.Split(*flagTolerate, ",") {
		o, err := ParseOracle(name)
		if err != nil {
			t.Fatal(err)
		}
		os = append(os, o)
	}
	return os
}

// TestRunIsReproducible checks that a seed gives the same run, bit for bit,
// every time, in every mode, traced or not.
func TestRunIsReproducible(t *testing.T) {
	for seed := uint64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			trace := func() ([32]byte, Result) {
				h := sha256.New()
				r := Run(Options{Seed: seed, Steps: 1500, LivenessSteps: 3000, Trace: h, RaftLog: true})
				var sum [32]byte
				copy(sum[:], h.Sum(nil))
				return sum, r
			}
			h1, r1 := trace()
			h2, r2 := trace()
			if h1 != h2 {
				t.Errorf("got traces with digests %x and %x, want the same", h1, h2)
			}
			r3 := Run(Options{Seed: seed, Steps: 1500, LivenessSteps: 3000})
			for _, r := range []Result{r2, r3} {
				if got, want := r.String(), r1.String(); got != want {
					t.Errorf("got %s, want %s", got, want)
				}
				if r.Stats != r1.Stats {
					t.Errorf("got stats %+v, want %+v", r.Stats, r1.Stats)
				}
			}
		})
	}
}

// BenchmarkRun measures the simulation's speed in steps per second, for
// the default options.
func BenchmarkRun(b *testing.B) {
	steps := 0
	seed := uint64(0)
	for b.Loop() {
		seed++
		r := Run(Options{Seed: seed})
		steps += r.Stats.Steps
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
	b.ReportMetric(float64(steps)/float64(b.N), "steps/run")
}

// TestSeedsThatFailedOnce replays seeds whose runs once failed, with the
// default options, and requires them to pass: each stands for a fix.
func TestSeedsThatFailedOnce(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
		why  string
	}{
		{19747, "a leader let its exit go because an application's second request to leave the joint configuration, which every peer skips, was committed with it"},
		{21756, "the same, with the leader's own request to leave the joint configuration first"},
		{47670, "a restarted peer held its exit with a later change in its log, won an election in the configuration before both, and lost committed entries (leader completeness)"},
		{46622, "a leader holding its exit committed a later change in the configuration before both, and lost committed entries (leader completeness)"},
		{38621, "a follower let go its exit, learned committed while it led, on knowing a leader that did not know it, and needed the follower's acknowledgement"},
		{15750, "a learner (in its own view) ignored the vote requests of a candidate whose term a removed peer had left behind, and the candidate needed its vote"},
	} {
		t.Run(fmt.Sprintf("seed=%d", tc.seed), func(t *testing.T) {
			if r := Run(Options{Seed: tc.seed}); r.Failed() {
				t.Errorf("%s (once: %s)\n\treplay: %s", r.String(), tc.why, replayCommand(tc.seed))
			}
		})
	}
}
