package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Units every benchmark line carries; anything else was reported with
// b.ReportMetric and goes to the table of other metrics.
const (
	unitTime   = "ns/op"
	unitBytes  = "B/op"
	unitAllocs = "allocs/op"
)

// spread is a median with the minimum and maximum it was taken from.
type spread struct {
	median, min, max float64
	// n is the number of values; zero means no value.
	n int
}

// summarize returns the spread of xs.
func summarize(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	return spread{median: median(xs), min: slices.Min(xs), max: slices.Max(xs), n: len(xs)}
}

// median returns the median of xs (the mean of the middle two for an even
// count). It panics on an empty slice.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

// geomean returns the geometric mean of xs, which must be positive.
func geomean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(xs)))
}

// row is one benchmark of the main table.
type row struct {
	name string
	// ratio is the spread of ours/etcd ns/op over the rounds that have
	// both.
	ratio spread
	// values[lib][unit] is the median over rounds of each round's value.
	values map[string]map[string]spread
}

// metricRow is one custom metric of one benchmark.
type metricRow struct {
	name, unit string
	ours, etcd spread
	ratio      spread
}

// floorRow is one replication benchmark against the floor of its shape.
type floorRow struct {
	name, floor          string
	floorNs              spread
	oursRatio, etcdRatio spread
}

// headline is a row of issue 9's table, and the benchmark that measures it.
type headline struct {
	scenario, name, unit string
}

// headlines are the scenarios issue 9 quotes, in its order; the report
// shows them first.
var headlines = []headline{
	{"one proposal per Ready, full commit cycle", "BenchmarkProposeCycle/voters=3/entry=128B/batch=1", unitTime},
	{"same, every message marshalled and unmarshalled", "BenchmarkProposeCycleWire/voters=3/entry=128B/batch=1", unitTime},
	{"256 Propose calls, then the Ready loop", "BenchmarkProposeCycle/voters=3/entry=128B/batch=256", unitTime},
	{"one MsgProp carrying 256 entries", "BenchmarkProposeMsgProp/voters=3/entry=128B/batch=256", unitTime},
	{"ReadIndex (safe), one per round", "BenchmarkReadIndex/at=leader/voters=3", unitTime},
	{"idle leader, heartbeat tick", "BenchmarkTick/role=leader/mode=heartbeat/voters=3", unitTime},
	{"idle leader, tick with nothing due", "BenchmarkTick/role=leader/mode=idle/voters=3", unitTime},
	{"idle follower tick", "BenchmarkTick/role=follower/mode=idle/voters=3", unitTime},
	{"heap retained per idle group, leader", "BenchmarkIdleGroups/role=leader/groups=10000", "retained-B/group"},
	{"heap retained per idle group, follower", "BenchmarkIdleGroups/role=follower/groups=10000", "retained-B/group"},
	{"ticking 10,000 idle leaders (heartbeats)", "BenchmarkIdleGroupsTick/role=leader/mode=heartbeat/groups=10000", unitTime},
	{"ticking 10,000 idle followers", "BenchmarkIdleGroupsTick/role=follower/mode=idle/groups=10000", unitTime},
}

// report accumulates results and renders the comparison.
type report struct {
	cfg            config
	outDir, root   string
	started        time.Time
	loadAtStart    string
	loadAtEnd      string
	cpu, goVersion string
	revision       string

	// samples[lib][name][round] holds one map of unit to value per run
	// (-count of them).
	samples map[string]map[string][][]map[string]float64
	// order lists the names of ours and etcd in the order first seen.
	order []string

	rows    []row
	metrics []metricRow
	floors  []floorRow
	// geo is the geometric mean of the rows' median ratios; geoRounds the
	// spread of each round's geometric mean.
	geo       float64
	geoRounds spread
}

func newReport(cfg config, outDir, root string) *report {
	r := &report{
		cfg: cfg, outDir: outDir, root: root, started: time.Now(),
		loadAtStart: loadAverage(), cpu: cpuModel(), goVersion: goVersion(root), revision: revision(root),
		samples: make(map[string]map[string][][]map[string]float64),
	}
	return r
}

// add records a result of lib in round.
func (r *report) add(lib string, round int, res result) {
	byName := r.samples[lib]
	if byName == nil {
		byName = make(map[string][][]map[string]float64)
		r.samples[lib] = byName
	}
	rounds := byName[res.name]
	if rounds == nil {
		rounds = make([][]map[string]float64, r.cfg.rounds)
		if lib != floor && !slices.Contains(r.order, res.name) {
			r.order = append(r.order, res.name)
		}
	}
	rounds[round] = append(rounds[round], res.metrics)
	byName[res.name] = rounds
}

// value returns lib's value of unit for name in round: the median of the
// round's runs.
func (r *report) value(lib, name string, round int, unit string) (float64, bool) {
	rounds := r.samples[lib][name]
	if rounds == nil {
		return 0, false
	}
	var xs []float64
	for _, m := range rounds[round] {
		if v, ok := m[unit]; ok {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	return median(xs), true
}

// perRound returns lib's value of unit for name in each round that has one.
func (r *report) perRound(lib, name, unit string) []float64 {
	var xs []float64
	for round := range r.cfg.rounds {
		if v, ok := r.value(lib, name, round, unit); ok {
			xs = append(xs, v)
		}
	}
	return xs
}

// ratios returns num's value over den's for each round that has both and a
// positive denominator.
func (r *report) ratios(num, numName, den, denName, unit string) []float64 {
	var xs []float64
	for round := range r.cfg.rounds {
		a, okA := r.value(num, numName, round, unit)
		b, okB := r.value(den, denName, round, unit)
		if okA && okB && b > 0 {
			xs = append(xs, a/b)
		}
	}
	return xs
}

// units returns the units reported for name by any library, sorted.
func (r *report) units(name string) []string {
	seen := make(map[string]bool)
	for _, lib := range []string{ours, etcd} {
		for _, runs := range r.samples[lib][name] {
			for _, m := range runs {
				for u := range m {
					seen[u] = true
				}
			}
		}
	}
	var out []string
	for u := range seen {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// finish computes the tables from the samples.
func (r *report) finish() {
	r.loadAtEnd = loadAverage()
	var medians []float64
	for _, name := range r.order {
		rw := row{name: name, values: make(map[string]map[string]spread)}
		rw.ratio = summarize(r.ratios(ours, name, etcd, name, unitTime))
		for _, lib := range []string{ours, etcd} {
			rw.values[lib] = make(map[string]spread)
			for _, u := range []string{unitTime, unitAllocs, unitBytes} {
				rw.values[lib][u] = summarize(r.perRound(lib, name, u))
			}
		}
		if rw.ratio.n > 0 && rw.ratio.median > 0 {
			medians = append(medians, rw.ratio.median)
		}
		r.rows = append(r.rows, rw)
		for _, u := range r.units(name) {
			if u == unitTime || u == unitAllocs || u == unitBytes {
				continue
			}
			r.metrics = append(r.metrics, metricRow{
				name: name, unit: u,
				ours:  summarize(r.perRound(ours, name, u)),
				etcd:  summarize(r.perRound(etcd, name, u)),
				ratio: summarize(r.ratios(ours, name, etcd, name, u)),
			})
		}
		if key, ok := shapeKey(name); ok {
			fl := "BenchmarkFloor/" + key
			if r.samples[floor][fl] != nil {
				r.floors = append(r.floors, floorRow{
					name: name, floor: fl,
					floorNs:   summarize(r.perRound(floor, fl, unitTime)),
					oursRatio: summarize(r.ratios(ours, name, floor, fl, unitTime)),
					etcdRatio: summarize(r.ratios(etcd, name, floor, fl, unitTime)),
				})
			}
		}
	}
	if len(medians) > 0 {
		r.geo = geomean(medians)
	}
	var perRound []float64
	for round := range r.cfg.rounds {
		var xs []float64
		for _, name := range r.order {
			a, okA := r.value(ours, name, round, unitTime)
			b, okB := r.value(etcd, name, round, unitTime)
			if okA && okB && a > 0 && b > 0 {
				xs = append(xs, a/b)
			}
		}
		if len(xs) > 0 {
			perRound = append(perRound, geomean(xs))
		}
	}
	r.geoRounds = summarize(perRound)
}

// shapeKey returns the voters/entry/batch elements that end a replication
// benchmark's name, the suffix of its floor.
func shapeKey(name string) (string, bool) {
	parts := strings.Split(name, "/")
	if len(parts) < 4 {
		return "", false
	}
	last := parts[len(parts)-3:]
	for i, prefix := range []string{"voters=", "entry=", "batch="} {
		if !strings.HasPrefix(last[i], prefix) {
			return "", false
		}
	}
	return strings.Join(last, "/"), true
}

// write renders the report as Markdown.
func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "# github.com/quorate/raft / go.etcd.io/raft/v3 v3.6.0\n\n")
	fmt.Fprintf(w, "- machine: %s, %d cores, %s/%s, %s\n", r.cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, r.goVersion)
	fmt.Fprintf(w, "- date: %s; ours at %s\n", r.started.UTC().Format("2006-01-02 15:04 MST"), r.revision)
	fmt.Fprintf(w, "- run: `go run ./cmd/compare -rounds %d -benchtime %s -count %d -bench '%s'`; load average %s at start, %s at end\n",
		r.cfg.rounds, r.cfg.benchtime, r.cfg.count, r.cfg.bench, r.loadAtStart, r.loadAtEnd)
	fmt.Fprintf(w, "- ours/etcd is taken per round and shown as the median (min-max) over rounds; ns/op, allocs/op and B/op are medians over rounds\n\n")

	r.writeHeadlines(w)

	fmt.Fprintf(w, "## All benchmarks\n\n")
	fmt.Fprintf(w, "| benchmark | ours ns/op | etcd ns/op | ours/etcd | min-max | ours allocs/op | etcd allocs/op | ours B/op | etcd B/op |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	slower := 0
	for _, rw := range r.rows {
		o, e := rw.values[ours], rw.values[etcd]
		if rw.ratio.n > 0 && rw.ratio.median > 1 {
			slower++
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", rw.name,
			fmtNum(o[unitTime]), fmtNum(e[unitTime]), fmtRatio(rw.ratio), fmtRange(rw.ratio),
			fmtNum(o[unitAllocs]), fmtNum(e[unitAllocs]), fmtNum(o[unitBytes]), fmtNum(e[unitBytes]))
	}
	withRatio := 0
	for _, rw := range r.rows {
		if rw.ratio.n > 0 {
			withRatio++
		}
	}
	fmt.Fprintf(w, "\nGeometric mean of the time ratios ours/etcd: **%.2f** over %d benchmarks (per-round geometric means %s); ours slower in %d of them.\n",
		r.geo, withRatio, fmtRange(r.geoRounds), slower)

	if len(r.metrics) > 0 {
		fmt.Fprintf(w, "\n## Other metrics\n\n")
		fmt.Fprintf(w, "| benchmark | metric | ours | etcd | ours/etcd | min-max |\n|---|---|--:|--:|--:|--:|\n")
		for _, m := range r.metrics {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", m.name, m.unit, fmtNum(m.ours), fmtNum(m.etcd), fmtRatio(m.ratio), fmtRange(m.ratio))
		}
	}
	if len(r.floors) > 0 {
		fmt.Fprintf(w, "\n## Against the floor\n\n")
		fmt.Fprintf(w, "Each replication benchmark's time over BenchmarkFloor's for the same voters/entry/batch (the least work the contract forces; see floor/floor_test.go), median (min-max) over rounds.\n\n")
		fmt.Fprintf(w, "| benchmark | floor ns/op | ours/floor | etcd/floor |\n|---|--:|--:|--:|\n")
		for _, f := range r.floors {
			fmt.Fprintf(w, "| %s | %s | %s %s | %s %s |\n", f.name, fmtNum(f.floorNs),
				fmtRatio(f.oursRatio), fmtRange(f.oursRatio), fmtRatio(f.etcdRatio), fmtRange(f.etcdRatio))
		}
	}
}

// fmtNum writes a median: integers with thousands separators, small
// fractions with one decimal, "-" for no value.
func fmtNum(s spread) string {
	if s.n == 0 {
		return "-"
	}
	v := s.median
	if v < 100 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	digits := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtRatio(s spread) string {
	if s.n == 0 {
		return "-"
	}
	return ratioString(s.median)
}

func fmtRange(s spread) string {
	if s.n == 0 {
		return "-"
	}
	return ratioString(s.min) + "-" + ratioString(s.max)
}

func ratioString(v float64) string {
	if v < 0.1 {
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// cpuModel returns the processor's model name from /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage returns the one-minute load average, or "?".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// goVersion returns the version of the go command that builds the suite.
func goVersion(dir string) string {
	cmd := exec.Command("go", "env", "GOVERSION")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

// revision describes the checkout the suite measures: its commit, and
// whether the library has uncommitted changes.
func revision(root string) string {
	repo := filepath.Dir(root)
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "an unknown revision"
	}
	rev := "commit " + strings.TrimSpace(string(out))
	status, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(strings.TrimSpace(string(status))) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}

// writeHeadlines writes the table of issue 9's scenarios that the run
// measured.
func (r *report) writeHeadlines(w io.Writer) {
	var lines []string
	for _, h := range r.headlines() {
		lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |", h.scenario, strings.TrimPrefix(h.name, "Benchmark"),
			fmtRatio(h.ratio), fmtRange(h.ratio), fmtNum(h.ours), fmtNum(h.etcd), h.allocs))
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "## Issue 9 scenarios\n\n")
	fmt.Fprintf(w, "| scenario | benchmark | ours/etcd | min-max | ours | etcd | allocs/op etcd -> ours |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
}

// headlineRow is a measured headline: its ratio and both values, in the
// headline's unit.
type headlineRow struct {
	headline
	ratio, ours, etcd spread
	allocs            string
}

// headlines returns the headlines the run measured.
func (r *report) headlines() []headlineRow {
	var out []headlineRow
	for _, h := range headlines {
		if r.samples[ours][h.name] == nil || r.samples[etcd][h.name] == nil {
			continue
		}
		hr := headlineRow{
			headline: h,
			ratio:    summarize(r.ratios(ours, h.name, etcd, h.name, h.unit)),
			ours:     summarize(r.perRound(ours, h.name, h.unit)),
			etcd:     summarize(r.perRound(etcd, h.name, h.unit)),
			allocs:   "",
		}
		if h.unit == unitTime {
			hr.allocs = fmtNum(summarize(r.perRound(etcd, h.name, unitAllocs))) + " -> " + fmtNum(summarize(r.perRound(ours, h.name, unitAllocs)))
		}
		out = append(out, hr)
	}
	return out
}
