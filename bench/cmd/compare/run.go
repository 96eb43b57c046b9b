package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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
	// progress receives a line per run; nil discards them.
	progress io.Writer
}

// The packages of the bench module that run, relative to its root.
const (
	ours  = "ours"
	etcd  = "etcd"
	floor = "floor"
)

// unit is what one process runs: the benchmarks of one top-level function
// that the filter selects, or all of them when the filter cannot be split.
type unit struct {
	// label names the unit in progress lines.
	label string
	// pattern is the -test.bench argument.
	pattern string
}

// run builds the suite for both libraries and the floor, runs the rounds
// and returns the report. On a failed run it still returns the report of
// what succeeded, with the error.
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
	bins := make(map[string]string)
	for _, lib := range libs {
		fmt.Fprintf(progress, "compare: building %s\n", lib)
		bin := filepath.Join(outDir, lib+".test")
		if err := command(root, "go", "test", "-c", "-o", bin, "./"+lib); err != nil {
			return nil, fmt.Errorf("building %s: %w", lib, err)
		}
		bins[lib] = bin
	}

	units := make(map[string][]unit)
	for _, lib := range libs {
		filter := cfg.bench
		if lib == floor {
			filter = floorFilter(cfg.bench)
		}
		if units[lib], err = listUnits(bins[lib], filepath.Join(root, lib), filter); err != nil {
			return nil, err
		}
	}
	if !sameUnits(units[ours], units[etcd]) {
		return nil, fmt.Errorf("the two copies of the suite list different benchmarks (%v and %v); run go generate in %s", labels(units[ours]), labels(units[etcd]), root)
	}
	if len(units[ours]) == 0 {
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
	runUnit := func(round int, lib string, u unit) {
		start := time.Now()
		out, err := runBench(bins[lib], filepath.Join(root, lib), u.pattern, cfg)
		raw[lib].Write(out)
		results, perr := parseResults(out)
		for _, r := range results {
			rep.add(lib, round, r)
		}
		status := "ok"
		if err == nil {
			err = perr
		}
		if err == nil && len(results) == 0 {
			err = errors.New("got no benchmark results")
		}
		if err != nil {
			status = "FAILED"
			failures = append(failures, fmt.Errorf("round %d, %s, %s: %w\n%s", round+1, lib, u.label, err, tail(out, 20)))
		}
		fmt.Fprintf(progress, "compare: round %d/%d %-32s %-5s %6.1fs %s\n", round+1, cfg.rounds, u.label, lib, time.Since(start).Seconds(), status)
	}
	for round := range cfg.rounds {
		if cfg.floor {
			for _, u := range units[floor] {
				runUnit(round, floor, u)
			}
		}
		for i, u := range units[ours] {
			order := []string{ours, etcd}
			if (round+i)%2 == 1 {
				order = []string{etcd, ours}
			}
			for _, lib := range order {
				runUnit(round, lib, u)
			}
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

// runBench runs one unit of a test binary and returns its standard output.
func runBench(bin, dir, pattern string, cfg config) ([]byte, error) {
	cmd := exec.Command(bin,
		"-test.run=^$", "-test.bench="+pattern, "-test.benchmem",
		"-test.benchtime="+cfg.benchtime, fmt.Sprintf("-test.count=%d", cfg.count))
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// listUnits returns the units that run the benchmarks filter selects in a
// test binary: one per top-level benchmark function when the filter splits
// into a first element and the rest, else one for the whole filter.
func listUnits(bin, dir, filter string) ([]unit, error) {
	first, rest, ok := splitFilter(filter)
	if !ok {
		first = filter
	}
	cmd := exec.Command(bin, "-test.list="+first)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", bin, err)
	}
	var units []unit
	for _, name := range strings.Fields(string(out)) {
		if !strings.HasPrefix(name, "Benchmark") {
			continue
		}
		if !ok {
			return []unit{{label: "-bench " + filter, pattern: filter}}, nil
		}
		pattern := "^" + regexp.QuoteMeta(name) + "$"
		if rest != "" {
			pattern += "/" + rest
		}
		units = append(units, unit{label: name, pattern: pattern})
	}
	return units, nil
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

func sameUnits(a, b []unit) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func labels(us []unit) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.label)
	}
	return out
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
