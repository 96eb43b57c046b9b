// Command compare runs the comparison suite against this checkout of
// github.com/quorate/raft ("ours") and against go.etcd.io/raft/v3 v3.6.0
// ("etcd"), with the floor benchmarks alongside, and prints per benchmark
// the ratio ours/etcd with its spread, allocations and bytes of both, the
// geometric mean of the time ratios, and each replication path's ratio to
// the floor.
//
// Run it from the bench module's root:
//
//	go run ./cmd/compare [-rounds 5] [-benchtime 500ms] [-count 1] [-bench regexp] [-out dir]
//
// The machine is shared and noisy, so the libraries alternate benchmark by
// benchmark: every selected benchmark is first run once per library (which
// lists them and fails early), then in each round each benchmark runs in
// its own process for one library and at once for the other, the order
// flipping from one benchmark and round to the next. A ratio is taken per
// round, between runs about a second apart, and the report gives the
// median of those ratios with their minimum and maximum. The floor
// benchmark of a replication benchmark's shape runs right before it. Raw `go test`
// output is kept in the -out directory (one file per library, benchstat's
// input format).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var cfg config
	flag.IntVar(&cfg.rounds, "rounds", 5, "alternated rounds to run (at least 1; 5 or more for figures worth quoting)")
	flag.IntVar(&cfg.count, "count", 1, "runs of each benchmark per library per round (go test -count); a round's value is their median")
	flag.StringVar(&cfg.benchtime, "benchtime", "500ms", "go test -benchtime of every run, a duration or Nx")
	flag.StringVar(&cfg.bench, "bench", ".", "go test -bench regexp selecting the benchmarks (the floor's are selected by the same elements after the first)")
	flag.BoolVar(&cfg.floor, "floor", true, "also run the floor benchmarks and report ratios to them")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "bound on each benchmark process (0: none)")
	flag.StringVar(&cfg.out, "out", "", "directory for the raw go test output and the report (default: a new temporary directory)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "compare: got arguments %q, want flags only\n", flag.Args())
		os.Exit(2)
	}
	cfg.progress = os.Stderr
	start := time.Now()
	rep, err := run(cfg)
	if rep != nil {
		rep.write(os.Stdout)
		fmt.Fprintf(os.Stderr, "compare: done in %s; raw output in %s\n", time.Since(start).Round(time.Second), rep.outDir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}
