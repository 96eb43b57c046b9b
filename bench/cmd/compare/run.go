package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config holds the command's flags.
type config struct {
	rounds    int
	count     int
	benchtime string
	bench     string
	floor     bool
	out       string
	// timeout bounds each benchmark process; zero means no bound.
	timeout time.Duration
	// progress receives a line per run; nil discards them.
	progress io.Writer
}

// The packages of the bench module that run, relative to its root.
const (
	ours  = "ours"
	etcd  = "etcd"
	floor = "floor"
)

// run builds the suite for both libraries and the floor, runs every
// selected benchmark once to list them (and to fail early), then runs the
// rounds and returns the report. Once the rounds have started, a failed
// run does not stop them: run returns the report of what succeeded with
// the error.
func run(cfg config) (*report, error) {
	if cfg.rounds < 1 || cfg.count < 1 {
		return nil, fmt.Errorf("got -rounds %d and -count %d, want both at least 1", cfg.rounds, cfg.count)
	}
	if _, err := regexp.Compile(cfg.bench); err != nil {
		return nil, fmt.Errorf("-bench: %w", err)
	}
	progress := cfg.progress
	if progress == nil {
		progress = io.Discard
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	outDir := cfg.out
	if outDir == "" {
		if outDir, err = os.MkdirTemp("", "raft-compare-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	libs := []string{ours, etcd}
	if cfg.floor {
		libs = append(libs, floor)
	}
	filters := map[string]string{ours: cfg.bench, etcd: cfg.bench, floor: floorFilter(cfg.bench)}
	bins := make(map[string]string)
	leaves := make(map[string][]string)
	for _, lib := range libs {
		fmt.Fprintf(progress, "compare: building %s\n", lib)
		bin := filepath.Join(outDir, lib+".test")
		if err := command(root, "go", "test", "-c", "-o", bin, "./"+lib); err != nil {
			return nil, fmt.Errorf("building %s: %w", lib, err)
		}
		bins[lib] = bin
		fmt.Fprintf(progress, "compare: listing %s by running each selected benchmark once\n", lib)
		out, err := runBench(bin, filepath.Join(root, lib), filters[lib], "1x", 1, cfg.timeout)
		listing := filepath.Join(outDir, lib+"-listing.txt")
		if werr := os.WriteFile(listing, out, 0o644); werr != nil {
			return nil, werr
		}
		results, perr := parseResults(out)
		if err = errors.Join(err, perr); err != nil {
			return nil, fmt.Errorf("listing %s: %w (full output in %s)\n%s", lib, err, listing, tail(out, 20))
		}
		for _, r := range results {
			leaves[lib] = append(leaves[lib], r.name)
		}
	}
	if !slices.Equal(leaves[ours], leaves[etcd]) {
		return nil, fmt.Errorf("the two copies of the suite run different benchmarks (%d and %d); run go generate in %s",
			len(leaves[ours]), len(leaves[etcd]), root)
	}
	if len(leaves[ours]) == 0 {
		return nil, fmt.Errorf("-bench %q selects no benchmark", cfg.bench)
	}

	rep := newReport(cfg, outDir, root)
	raw := make(map[string]*os.File)
	for _, lib := range libs {
		f, err := os.Create(filepath.Join(outDir, lib+".txt"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		raw[lib] = f
	}
	var failures []error
	// runOnce runs pattern for lib and records its results under round.
	// want, when set, is the one benchmark the pattern must select.
	runOnce := func(round int, lib, pattern, want string) time.Duration {
		start := time.Now()
		out, err := runBench(bins[lib], filepath.Join(root, lib), pattern, cfg.benchtime, cfg.count, cfg.timeout)
		raw[lib].Write(out)
		results, perr := parseResults(out)
		err = errors.Join(err, perr)
		for _, r := range results {
			if want != "" && r.name != want {
				err = errors.Join(err, fmt.Errorf("got a result for %s, want only %s", r.name, want))
				continue
			}
			rep.add(lib, round, r)
		}
		if err == nil && len(results) == 0 {
			err = errors.New("got no benchmark results")
		}
		if err != nil {
			failures = append(failures, fmt.Errorf("round %d, %s, -bench %s: %w (full output in %s)\n%s",
				round+1, lib, pattern, err, raw[lib].Name(), tail(out, 20)))
		}
		return time.Since(start)
	}
	floors := make(map[string]bool)
	for _, name := range leaves[floor] {
		floors[name] = true
	}
	for round := range cfg.rounds {
		for i, name := range leaves[ours] {
			took := make(map[string]time.Duration)
			// NB: the floor of a replication benchmark's shape runs right
			// before it, so that their ratio, too, compares runs seconds
			// apart. A round's floor value is the median of these runs.
			if key, ok := shapeKey(name); ok && floors["BenchmarkFloor/"+key] {
				fl := "BenchmarkFloor/" + key
				took[floor] = runOnce(round, floor, exactPattern(fl), fl)
			}
			// NB: the order flips from one benchmark to the next and from
			// one round to the next, so that neither library is always
			// the one to run first, right after another benchmark.
			order := []string{ours, etcd}
			if (round+i)%2 == 1 {
				order = []string{etcd, ours}
			}
			for _, lib := range order {
				took[lib] = runOnce(round, lib, exactPattern(name), name)
			}
			fmt.Fprintf(progress, "compare: round %d/%d [%d/%d] %s: ours %.1fs, etcd %.1fs, floor %.1fs\n",
				round+1, cfg.rounds, i+1, len(leaves[ours]), name, took[ours].Seconds(), took[etcd].Seconds(), took[floor].Seconds())
		}
	}
	rep.finish()
	var buf bytes.Buffer
	rep.write(&buf)
	if err := os.WriteFile(filepath.Join(outDir, "report.md"), buf.Bytes(), 0o644); err != nil {
		failures = append(failures, err)
	}
	return rep, errors.Join(failures...)
}

// exactPattern returns the -test.bench pattern that selects the benchmark
// name and nothing else.
func exactPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// moduleRoot returns the directory of the bench module, which must be the
// one the command runs in.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	data, err := os.ReadFile(gomod)
	if gomod == "" || gomod == os.DevNull || err != nil || !bytes.Contains(data, []byte("module github.com/quorate/raft/bench\n")) {
		return "", errors.New("run compare inside the bench module (cd bench && go run ./cmd/compare)")
	}
	return filepath.Dir(gomod), nil
}

// command runs name with args in dir, failing with its output.
func command(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// runBench runs the benchmarks pattern selects in a test binary and
// returns its standard output, followed by its standard error on failure.
// A run still going after timeout (when not zero) fails: it gets SIGQUIT,
// so that the Go runtime prints every goroutine's stack before it exits,
// and is killed if it is still there ten seconds later.
func runBench(bin, dir, pattern, benchtime string, count int, timeout time.Duration) ([]byte, error) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$", "-test.bench="+pattern, "-test.benchmem",
		"-test.benchtime="+benchtime, fmt.Sprintf("-test.count=%d", count))
	cmd.Dir = dir
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		err = fmt.Errorf("still running after %v: %w", timeout, err)
	}
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// splitFilter splits a -bench regexp at its first slash that testing
// would split it at, reporting false when it holds a top-level alternation,
// which testing applies across elements and so cannot be split.
func splitFilter(filter string) (first, rest string, ok bool) {
	brackets, parens := 0, 0
	cut := -1
	for i := 0; i < len(filter); i++ {
		switch filter[i] {
		case '[':
			brackets++
		case ']':
			brackets = max(brackets-1, 0)
		case '(':
			if brackets == 0 {
				parens++
			}
		case ')':
			if brackets == 0 {
				parens--
			}
		case '\\':
			i++
		case '|':
			if brackets == 0 && parens == 0 {
				return "", "", false
			}
		case '/':
			if brackets == 0 && parens == 0 && cut < 0 {
				cut = i
			}
		}
	}
	if cut < 0 {
		return filter, "", true
	}
	return filter[:cut], filter[cut+1:], true
}

// floorFilter returns the filter for the floor package: its one function,
// with the elements of filter after the first, which select shapes.
func floorFilter(filter string) string {
	if _, rest, ok := splitFilter(filter); ok && rest != "" {
		return "^BenchmarkFloor$/" + rest
	}
	return "^BenchmarkFloor$"
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
