package sim

import (
	"bufio"
	"fmt"
	"time"
	"flag"
	"os"
	"runtime"
	"strings"
	"testing"
)

var (
	flagSeed     = flag.Uint64("sim.seed", 0, "replay this one seed (with -sim.trace to see its events)")
	flagTrace    = flag.Bool("sim.trace", false, "write the trace of the replayed seed to stdout (or -sim.tracefile)")
	flagTraceTo  = flag.String("sim.tracefile", "", "write the trace to this file instead of stdout")
	flagRaftLog  = flag.Bool("sim.raftlog", false, "include the nodes' log lines in the trace")
	flagSteps    = flag.Int("sim.steps", 0, "chaos-phase steps per seed (0: the default)")
	flagSeeds    = flag.String("sim.seeds", "", "sweep this seed range, FROM:TO (TO excluded), instead of the CI sweep")
	flagTolerate = flag.String("sim.tolerate", "", "comma-separated oracles whose violations do not stop a run (diagnosis only)")
	flagParallel = flag.Int("sim.parallel", 0, "runs in parallel (0: GOMAXPROCS)")
)

func TestSimulation(t *testing.T) {
	if *flagSeed != 0 {
		replay(t, *flagSeed)
		return
	}
	from, to := uint64(1), uint64(100)
	if *flagSeeds != "" {
		if _, err := fmt.Sscanf(*flagSeeds, "%d:%d", &from, &to); err != nil {
			t.Fatalf("-sim.seeds=%q: want FROM:TO", *flagSeeds)
		}
	}
	start := time.Now()
	s := Sweep(SweepOptions{Options: Options{Steps: *flagSteps, Tolerate: tolerated(t)}, From: from, To: to, Parallel: *flagParallel,
		OnResult: func(r *Result) {
			if r.Failed() {
				t.Logf("%s", r.String())
			}
		}})
	el := time.Since(start)
	t.Logf("%s\n%.0f steps/s", s.String(), float64(s.Steps)/el.Seconds())
}

func replay(t *testing.T, seed uint64) {
	opts := Options{Seed: seed, Steps: *flagSteps, RaftLog: *flagRaftLog, Tolerate: tolerated(t)}
	if *flagTrace {
		var w *bufio.Writer
		if *flagTraceTo != "" {
			f, err := os.Create(*flagTraceTo)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w = bufio.NewWriter(f)
		} else {
			w = bufio.NewWriter(os.Stdout)
		}
		defer w.Flush()
		opts.Trace = w
	}
	r := Run(opts)
	t.Logf("%s", r.String())
	t.Logf("%+v", r.Stats)
	if r.Failed() {
		t.Errorf("%s", r.String())
	}
	_ = runtime.GOMAXPROCS
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
