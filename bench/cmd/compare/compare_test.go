package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the whole comparison once, every benchmark of both
// libraries and the floor for a single iteration, and checks that each one
// produced a result on both sides. It is what CI runs to know that the
// suite still compiles and runs against the current core; it takes some
// seconds plus the build.
func TestSmoke(t *testing.T) {
	cfg := config{rounds: 1, count: 1, benchtime: "1x", bench: ".", floor: true, out: t.TempDir(), timeout: 2 * time.Minute}
	rep, err := run(cfg)
	if err != nil {
		t.Fatalf("run: got %v, want nil", err)
	}
	tops := make(map[string]int)
	for _, rw := range rep.rows {
		tops[strings.Split(rw.name, "/")[0]]++
		for _, lib := range []string{ours, etcd} {
			for _, u := range []string{unitTime, unitAllocs, unitBytes} {
				if rw.values[lib][u].n != 1 {
					t.Errorf("%s: got %d values of %s %s, want 1", rw.name, rw.values[lib][u].n, lib, u)
				}
			}
		}
		if rw.ratio.n != 1 {
			t.Errorf("%s: got %d ratios, want 1", rw.name, rw.ratio.n)
		}
	}
	for _, top := range []string{
		"BenchmarkProposeCycle", "BenchmarkProposeCycleWire", "BenchmarkProposeCycleAsync", "BenchmarkProposeMsgProp",
		"BenchmarkNodeProposeCycle", "BenchmarkNodeProposeCycleAsync", "BenchmarkReadIndex", "BenchmarkNodeReadIndex",
		"BenchmarkTick", "BenchmarkIdleGroups", "BenchmarkIdleGroupsTick",
	} {
		if tops[top] == 0 {
			t.Errorf("%s: got no results, want some", top)
		}
	}
	if got, want := tops["BenchmarkProposeCycle"], 18; got != want {
		t.Errorf("BenchmarkProposeCycle: got %d shapes, want %d (voters 1, 3, 5 x entries 128B, 4KiB x batches 1, 16, 256)", got, want)
	}
	floors := 0
	for _, f := range rep.floors {
		if strings.HasPrefix(f.name, "BenchmarkProposeCycle/") {
			floors++
		}
		if f.oursRatio.n != 1 || f.etcdRatio.n != 1 {
			t.Errorf("%s against %s: got %d and %d ratios, want 1 each", f.name, f.floor, f.oursRatio.n, f.etcdRatio.n)
		}
	}
	if floors != tops["BenchmarkProposeCycle"] {
		t.Errorf("floor ratios of BenchmarkProposeCycle: got %d, want one per shape, %d", floors, tops["BenchmarkProposeCycle"])
	}
	retained := 0
	for _, m := range rep.metrics {
		if m.unit == "retained-B/group" {
			retained++
			if m.ours.n != 1 || m.etcd.n != 1 || m.ours.median <= 0 || m.etcd.median <= 0 {
				t.Errorf("%s retained-B/group: got ours %+v, etcd %+v, want one positive value each", m.name, m.ours, m.etcd)
			}
		}
	}
	if retained != 2 {
		t.Errorf("retained-B/group: got %d benchmarks reporting it, want 2 (leader, follower)", retained)
	}
	if got, want := len(rep.headlines()), len(headlines); got != want {
		t.Errorf("headlines measured: got %d, want all %d", got, want)
	}
	var out bytes.Buffer
	rep.write(&out)
	if !strings.Contains(out.String(), "Geometric mean of the time ratios") {
		t.Errorf("report: got\n%s\nwant a geometric mean line", out.String())
	}
}

func TestParseResults(t *testing.T) {
	t.Run("result lines", func(t *testing.T) {
		out := "goos: linux\npkg: x\n" +
			"BenchmarkA/voters=3/entry=128B/batch=16-2   \t    1000\t      8710 ns/op\t    1952 B/op\t       8 allocs/op\n" +
			"BenchmarkB/role=leader-2 \t 1\t 303198867 ns/op\t 5752 retained-B/group\t 119440000 B/op\t 890000 allocs/op\n" +
			"BenchmarkC\t 5\t 12.5 ns/op\n" +
			"PASS\nok  \tx\t1.2s\n"
		got, err := parseResults([]byte(out))
		if err != nil {
			t.Fatalf("parseResults: got %v, want nil", err)
		}
		want := []result{
			{"BenchmarkA/voters=3/entry=128B/batch=16", map[string]float64{"ns/op": 8710, "B/op": 1952, "allocs/op": 8}},
			{"BenchmarkB/role=leader", map[string]float64{"ns/op": 303198867, "retained-B/group": 5752, "B/op": 119440000, "allocs/op": 890000}},
			{"BenchmarkC", map[string]float64{"ns/op": 12.5}},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d results %v, want %d", len(got), got, len(want))
		}
		for i := range want {
			if got[i].name != want[i].name {
				t.Errorf("result %d name: got %q, want %q", i, got[i].name, want[i].name)
			}
			if len(got[i].metrics) != len(want[i].metrics) {
				t.Errorf("result %d metrics: got %v, want %v", i, got[i].metrics, want[i].metrics)
			}
			for u, v := range want[i].metrics {
				if got[i].metrics[u] != v {
					t.Errorf("result %d %s: got %v, want %v", i, u, got[i].metrics[u], v)
				}
			}
		}
	})
	t.Run("a failure is an error", func(t *testing.T) {
		out := "BenchmarkA-2\t 10\t 5 ns/op\n--- FAIL: BenchmarkB\n    x_test.go:1: boom\nFAIL\n"
		got, err := parseResults([]byte(out))
		if err == nil {
			t.Errorf("parseResults: got nil error, want the failure")
		}
		if len(got) != 1 {
			t.Errorf("results before the failure: got %d, want 1", len(got))
		}
	})
	t.Run("a malformed value is an error", func(t *testing.T) {
		if _, err := parseResults([]byte("BenchmarkA-2\t 10\t five ns/op\n")); err == nil {
			t.Errorf("parseResults: got nil error, want one for the value")
		}
	})
	t.Run("a result without ns/op is an error", func(t *testing.T) {
		if _, err := parseResults([]byte("BenchmarkA-2\t 10\t 5 B/op\n")); err == nil {
			t.Errorf("parseResults: got nil error, want one for the missing ns/op")
		}
	})
}

func TestSplitFilter(t *testing.T) {
	tests := []struct {
		filter, first, rest string
		ok                  bool
	}{
		{".", ".", "", true},
		{"ProposeCycle$/voters=3", "ProposeCycle$", "voters=3", true},
		{"A/b/c", "A", "b/c", true},
		{"(A/B)/c", "(A/B)", "c", true},
		{"[/]x/y", "[/]x", "y", true},
		{`A\/B/c`, `A\/B`, "c", true},
		{"Tick|ReadIndex", "", "", false},
		{"(Tick|ReadIndex)/voters=3", "(Tick|ReadIndex)", "voters=3", true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			first, rest, ok := splitFilter(tt.filter)
			if first != tt.first || rest != tt.rest || ok != tt.ok {
				t.Errorf("got %q, %q, %v, want %q, %q, %v", first, rest, ok, tt.first, tt.rest, tt.ok)
			}
		})
	}
	t.Run("the floor keeps the shape elements", func(t *testing.T) {
		if got, want := floorFilter("Propose/voters=3/entry=4KiB"), "^BenchmarkFloor$/voters=3/entry=4KiB"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got, want := floorFilter("Tick|Read"), "^BenchmarkFloor$"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestExactPattern(t *testing.T) {
	name := "BenchmarkProposeCycle/voters=3/entry=128B/batch=1"
	pattern := exactPattern(name)
	if want := "^BenchmarkProposeCycle$/^voters=3$/^entry=128B$/^batch=1$"; pattern != want {
		t.Errorf("got %q, want %q", pattern, want)
	}
	if got, want := exactPattern("BenchmarkA/x.y+z"), `^BenchmarkA$/^x\.y\+z$`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestShapeKey(t *testing.T) {
	tests := []struct {
		name, key string
		ok        bool
	}{
		{"BenchmarkProposeCycle/voters=3/entry=128B/batch=16", "voters=3/entry=128B/batch=16", true},
		{"BenchmarkNodeProposeCycleAsync/voters=1/entry=4KiB/batch=1", "voters=1/entry=4KiB/batch=1", true},
		{"BenchmarkReadIndex/at=leader/voters=3", "", false},
		{"BenchmarkX/entry=128B/voters=3/batch=1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, ok := shapeKey(tt.name)
			if key != tt.key || ok != tt.ok {
				t.Errorf("got %q, %v, want %q, %v", key, ok, tt.key, tt.ok)
			}
		})
	}
}

func TestStatistics(t *testing.T) {
	t.Run("median of an odd count", func(t *testing.T) {
		if got := median([]float64{5, 1, 3}); got != 3 {
			t.Errorf("got %v, want 3", got)
		}
	})
	t.Run("median of an even count", func(t *testing.T) {
		if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
			t.Errorf("got %v, want 2.5", got)
		}
	})
	t.Run("median leaves its input alone", func(t *testing.T) {
		xs := []float64{3, 1, 2}
		median(xs)
		if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
			t.Errorf("input after median: got %v, want [3 1 2]", xs)
		}
	})
	t.Run("geometric mean", func(t *testing.T) {
		if got := geomean([]float64{0.25, 4, 1}); math.Abs(got-1) > 1e-12 {
			t.Errorf("got %v, want 1", got)
		}
		if got := geomean([]float64{2, 8}); math.Abs(got-4) > 1e-12 {
			t.Errorf("got %v, want 4", got)
		}
	})
	t.Run("number formatting", func(t *testing.T) {
		for _, tt := range []struct {
			v    float64
			want string
		}{{0, "0"}, {12.5, "12.5"}, {974, "974"}, {8710, "8,710"}, {1421078.4, "1,421,078"}, {100.4, "100"}} {
			if got := fmtNum(spread{median: tt.v, n: 1}); got != tt.want {
				t.Errorf("fmtNum(%v): got %q, want %q", tt.v, got, tt.want)
			}
		}
		if got := fmtNum(spread{}); got != "-" {
			t.Errorf("fmtNum of no value: got %q, want \"-\"", got)
		}
	})
}

// TestReport checks the tables against results made up so that every
// figure is known: ratios are taken per round, then summarised.
func TestReport(t *testing.T) {
	const a, b = "BenchmarkA/voters=3/entry=128B/batch=1", "BenchmarkIdleGroups/role=leader/groups=10000"
	rep := &report{cfg: config{rounds: 3}, samples: make(map[string]map[string][][]map[string]float64)}
	oursA := []float64{100, 200, 90}
	etcdA := []float64{200, 200, 100} // per-round ratios 0.5, 1, 0.9
	oursB := []float64{40, 40, 40}
	etcdB := []float64{10, 20, 10} // ratios 4, 2, 4
	floorA := []float64{10, 20, 10}
	for round := range 3 {
		rep.add(ours, round, result{a, map[string]float64{unitTime: oursA[round], unitAllocs: 2, unitBytes: 64}})
		rep.add(etcd, round, result{a, map[string]float64{unitTime: etcdA[round], unitAllocs: 4, unitBytes: 128}})
		rep.add(ours, round, result{b, map[string]float64{unitTime: oursB[round], unitAllocs: 0, unitBytes: 0, "retained-B/group": 500}})
		rep.add(etcd, round, result{b, map[string]float64{unitTime: etcdB[round], unitAllocs: 0, unitBytes: 0, "retained-B/group": 1000}})
		rep.add(floor, round, result{"BenchmarkFloor/voters=3/entry=128B/batch=1", map[string]float64{unitTime: floorA[round]}})
	}
	rep.finish()

	if len(rep.rows) != 2 || rep.rows[0].name != a || rep.rows[1].name != b {
		t.Fatalf("rows: got %+v, want %s then %s", rep.rows, a, b)
	}
	assertSpread(t, "ratio of A", rep.rows[0].ratio, spread{median: 0.9, min: 0.5, max: 1, n: 3})
	assertSpread(t, "ratio of B", rep.rows[1].ratio, spread{median: 4, min: 2, max: 4, n: 3})
	assertSpread(t, "ours ns/op of A", rep.rows[0].values[ours][unitTime], spread{median: 100, min: 90, max: 200, n: 3})
	assertSpread(t, "etcd allocs/op of A", rep.rows[0].values[etcd][unitAllocs], spread{median: 4, min: 4, max: 4, n: 3})
	if want := math.Sqrt(0.9 * 4); math.Abs(rep.geo-want) > 1e-12 {
		t.Errorf("geometric mean: got %v, want %v", rep.geo, want)
	}
	// Per round: sqrt(0.5*4), sqrt(1*2), sqrt(0.9*4).
	assertSpread(t, "per-round geometric means", rep.geoRounds, spread{median: math.Sqrt(2), min: math.Sqrt(2), max: math.Sqrt(3.6), n: 3})
	if len(rep.metrics) != 1 || rep.metrics[0].unit != "retained-B/group" {
		t.Fatalf("metrics: got %+v, want retained-B/group of %s", rep.metrics, b)
	}
	assertSpread(t, "retained ratio", rep.metrics[0].ratio, spread{median: 0.5, min: 0.5, max: 0.5, n: 3})
	if len(rep.floors) != 1 {
		t.Fatalf("floor rows: got %+v, want one for A", rep.floors)
	}
	assertSpread(t, "ours/floor of A", rep.floors[0].oursRatio, spread{median: 10, min: 9, max: 10, n: 3})
	assertSpread(t, "etcd/floor of A", rep.floors[0].etcdRatio, spread{median: 10, min: 10, max: 20, n: 3})

	var out bytes.Buffer
	rep.write(&out)
	for _, line := range []string{
		"| BenchmarkA/voters=3/entry=128B/batch=1 | 100 | 200 | 0.90 | 0.50-1.00 | 2 | 4 | 64 | 128 |",
		"| BenchmarkIdleGroups/role=leader/groups=10000 | retained-B/group | 500 | 1,000 | 0.50 | 0.50-0.50 |",
		"| heap retained per idle group, leader | IdleGroups/role=leader/groups=10000 | 0.50 | 0.50-0.50 | 500 | 1,000 |  |",
		"| BenchmarkA/voters=3/entry=128B/batch=1 | 10 | 10.00 9.00-10.00 | 10.00 10.00-20.00 |",
		"ours slower in 1 of them.",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("report: got\n%s\nwant it to contain %q", out.String(), line)
		}
	}
}

func assertSpread(t *testing.T, what string, got, want spread) {
	t.Helper()
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	if got.n != want.n || !near(got.median, want.median) || !near(got.min, want.min) || !near(got.max, want.max) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}
