package main

// Running the comparison: building each library's copy of the suite,
// listing its benchmarks, running them round by round (each with the floor
// of its shape), collecting the results into the report, and the helpers
// that run a test binary and split -bench filters.

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
	c, err := newComparison(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.prepare(); err != nil {
		return nil, err
	}
	c.rep = newReport(cfg, c.outDir, c.root)
	defer c.closeRaw()
	if err := c.openRaw(); err != nil {
		return nil, err
	}
	c.runRounds()
	return c.finish()
}

// comparison is one run of the command. It owns what the phases of run
// share: where the suite and its output live, the test binary of each
// library and the benchmarks it lists (leaves, in the order it runs them),
// the file each library's raw output goes to, the report, and the
// failures of the rounds so far.
type comparison struct {
	cfg          config
	progress     io.Writer // never nil
	root, outDir string
	libs         []string
	bins         map[string]string
	leaves       map[string][]string
	raw          map[string]*os.File
	rep          *report
	failures     []error
}

// newComparison checks cfg and sets up its run: the bench module's root,
// the output directory (a new temporary one unless cfg names one) and the
// libraries to run.
func newComparison(cfg config) (*comparison, error) {
	if cfg.rounds < 1 || cfg.count < 1 {
		return nil, fmt.Errorf("got -rounds %d and -count %d, want both at least 1", cfg.rounds, cfg.count)
	}
	if _, err := regexp.Compile(cfg.bench); err != nil {
		return nil, fmt.Errorf("-bench: %w", err)
	}
	c := &comparison{cfg: cfg, progress: cfg.progress, bins: make(map[string]string),
		leaves: make(map[string][]string), raw: make(map[string]*os.File)}
	if c.progress == nil {
		c.progress = io.Discard
	}
	var err error
	if c.root, err = moduleRoot(); err != nil {
		return nil, err
	}
	c.outDir = cfg.out
	if c.outDir == "" {
		if c.outDir, err = os.MkdirTemp("", "raft-compare-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return nil, err
	}
	c.libs = []string{ours, etcd}
	if cfg.floor {
		c.libs = append(c.libs, floor)
	}
	return c, nil
}

// prepare builds and lists every library's suite, and checks that both
// libraries run the same benchmarks, at least one.
func (c *comparison) prepare() error {
	filters := map[string]string{ours: c.cfg.bench, etcd: c.cfg.bench, floor: floorFilter(c.cfg.bench)}
	for _, lib := range c.libs {
		if err := c.buildAndList(lib, filters[lib]); err != nil {
			return err
		}
	}
	if !slices.Equal(c.leaves[ours], c.leaves[etcd]) {
		return fmt.Errorf("the two copies of the suite run different benchmarks (%d and %d); run go generate in %s",
			len(c.leaves[ours]), len(c.leaves[etcd]), c.root)
	}
	if len(c.leaves[ours]) == 0 {
		return fmt.Errorf("-bench %q selects no benchmark", c.cfg.bench)
	}
	return nil
}

// buildAndList builds lib's test binary and lists the benchmarks filter
// selects in it by running each once, keeping the output in the output
// directory.
func (c *comparison) buildAndList(lib, filter string) error {
	fmt.Fprintf(c.progress, "compare: building %s\n", lib)
	bin := filepath.Join(c.outDir, lib+".test")
	if err := command(c.root, "go", "test", "-c", "-o", bin, "./"+lib); err != nil {
		return fmt.Errorf("building %s: %w", lib, err)
	}
	c.bins[lib] = bin
	fmt.Fprintf(c.progress, "compare: listing %s by running each selected benchmark once\n", lib)
	out, err := runBench(bin, filepath.Join(c.root, lib), filter, "1x", 1, c.cfg.timeout)
	listing := filepath.Join(c.outDir, lib+"-listing.txt")
	if werr := os.WriteFile(listing, out, 0o644); werr != nil {
		return werr
	}
	results, perr := parseResults(out)
	if err = errors.Join(err, perr); err != nil {
		return fmt.Errorf("listing %s: %w (full output in %s)\n%s", lib, err, listing, tail(out, 20))
	}
	for _, r := range results {
		c.leaves[lib] = append(c.leaves[lib], r.name)
	}
	return nil
}

// openRaw creates the file of each library's raw output in the output
// directory.
func (c *comparison) openRaw() error {
	for _, lib := range c.libs {
		f, err := os.Create(filepath.Join(c.outDir, lib+".txt"))
		if err != nil {
			return err
		}
		c.raw[lib] = f
	}
	return nil
}

// closeRaw closes the files openRaw created.
func (c *comparison) closeRaw() {
	for _, f := range c.raw {
		f.Close()
	}
}

// runRounds runs every listed benchmark in every round, each with the
// floor of its shape when there is one.
func (c *comparison) runRounds() {
	floors := make(map[string]bool)
	for _, name := range c.leaves[floor] {
		floors[name] = true
	}
	for round := range c.cfg.rounds {
		for i, name := range c.leaves[ours] {
			took := make(map[string]time.Duration)
			// NB: the floor of a replication benchmark's shape runs right
			// before it, so that their ratio, too, compares runs seconds
			// apart. A round's floor value is the median of these runs.
			if key, ok := shapeKey(name); ok && floors["BenchmarkFloor/"+key] {
				fl := "BenchmarkFloor/" + key
				took[floor] = c.runOnce(round, floor, exactPattern(fl), fl)
			}
			// NB: the order flips from one benchmark to the next and from
			// one round to the next, so that neither library is always
			// the one to run first, right after another benchmark.
			order := []string{ours, etcd}
			if (round+i)%2 == 1 {
				order = []string{etcd, ours}
			}
			for _, lib := range order {
				took[lib] = c.runOnce(round, lib, exactPattern(name), name)
			}
			fmt.Fprintf(c.progress, "compare: round %d/%d [%d/%d] %s: ours %.1fs, etcd %.1fs, floor %.1fs\n",
				round+1, c.cfg.rounds, i+1, len(c.leaves[ours]), name, took[ours].Seconds(), took[etcd].Seconds(), took[floor].Seconds())
		}
	}
}

// runOnce runs pattern for lib and records its results under round, or
// the failure. want, when set, is the one benchmark the pattern must
// select. It returns how long the run took.
func (c *comparison) runOnce(round int, lib, pattern, want string) time.Duration {
	start := time.Now()
	out, err := runBench(c.bins[lib], filepath.Join(c.root, lib), pattern, c.cfg.benchtime, c.cfg.count, c.cfg.timeout)
	c.raw[lib].Write(out)
	results, perr := parseResults(out)
	err = errors.Join(err, perr)
	for _, r := range results {
		if want != "" && r.name != want {
			err = errors.Join(err, fmt.Errorf("got a result for %s, want only %s", r.name, want))
			continue
		}
		c.rep.add(lib, round, r)
	}
	if err == nil && len(results) == 0 {
		err = errors.New("got no benchmark results")
	}
	if err != nil {
		c.failures = append(c.failures, fmt.Errorf("round %d, %s, -bench %s: %w (full output in %s)\n%s",
			round+1, lib, pattern, err, c.raw[lib].Name(), tail(out, 20)))
	}
	return time.Since(start)
}

// finish completes the report and writes it to report.md in the output
// directory. It returns the report with every failure of the rounds (and
// of writing it).
func (c *comparison) finish() (*report, error) {
	c.rep.finish()
	var buf bytes.Buffer
	c.rep.write(&buf)
	if err := os.WriteFile(filepath.Join(c.outDir, "report.md"), buf.Bytes(), 0o644); err != nil {
		c.failures = append(c.failures, err)
	}
	return c.rep, errors.Join(c.failures...)
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
