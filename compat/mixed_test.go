package compat

import (
	"bufio"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/rafttest/sim"
)

// The mixed-cluster simulation: groups in which some nodes run etcd-raft
// v3.6.0 (through EtcdPeer) and the others this library, under the faults
// and oracles of rafttest/sim. See TestMixedCluster.

var (
	flagMixedSeed     = flag.Uint64("mixed.seed", 0, "run only this seed of the mixed-cluster simulation (with -mixed.trace to see its events)")
	flagMixedSeeds    = flag.String("mixed.seeds", "", "sweep the mixed-cluster seeds FROM:TO (TO excluded) instead of the CI sweep")
	flagMixedTotal    = flag.Int64("mixed.total", 0, "sweep mixed-cluster seeds from 1 (or -mixed.seeds' FROM) until this many steps have run")
	flagMixedTrace    = flag.Bool("mixed.trace", false, "write the trace of the -mixed.seed run to stdout, or to -mixed.tracefile")
	flagMixedTraceTo  = flag.String("mixed.tracefile", "", "write the trace to this file instead of stdout")
	flagMixedRaftLog  = flag.Bool("mixed.raftlog", false, "include the nodes' own log lines in the trace")
	flagMixedVerbose  = flag.Bool("mixed.v", false, "log every run of a sweep, not only the failed ones")
	flagRollingSeed   = flag.Uint64("rolling.seed", 0, "run only this seed of the rolling migration (with -mixed.trace to see its events)")
	flagRollingSeeds  = flag.String("rolling.seeds", "", "run the rolling migration on seeds FROM:TO (TO excluded) instead of the CI seeds")
	flagMixedProgress = flag.Int64("mixed.progress", 0, "log the running totals every this many steps of a long sweep")
)

// mixedCISteps is the number of steps the CI sweep runs at least (a tenth
// with -short), and goes on past until it covered everything a mixed group
// must be tried on, or ran mixedCIMaxRuns runs. The runs go one at a time
// (see runMixed), so this is what bounds the test's time: about 15 s
// under -race on a 2-core machine.
const (
	mixedCISteps      = 600_000
	mixedCIShortSteps = 60_000
	mixedCIMaxRuns    = 400
)

// mixedPlan is what a mixed run adds to the sim's Plan: the library of
// each node ID, and how storage writes are split between them.
type mixedPlan struct {
	libs [sim.MaxNodes + 1]library
	// voters is the number of initial voters, oursVoters how many of them
	// run this library.
	voters, oursVoters int
	// async says which nodes use AsyncStorageWrites, when the seed's mode
	// has them: asyncDrawn as the sim drew it, or only etcd-raft's nodes,
	// only ours, or all.
	async asyncSplit
}

type asyncSplit uint8

const (
	asyncNone asyncSplit = iota
	asyncDrawn
	asyncEtcdOnly
	asyncOursOnly
	asyncAll
)

var asyncSplitNames = [...]string{"none", "as drawn", "etcd only", "ours only", "all"}

func (a asyncSplit) String() string { return asyncSplitNames[a] }

// newMixedPlan draws the libraries of seed's nodes and adjusts the sim's
// plan p (drawn from the same seed) for a mixed group:
//
//   - among the initial voters, from one to all but one run this library,
//     at positions drawn at random; with a single initial voter, node 2
//     (which may join) runs the other library than node 1, and the plan
//     makes membership changes; nodes that join later run either;
//   - with AsyncStorageWrites (bit 2 of the seed), they go to the nodes as
//     drawn, to etcd-raft's only, to ours only, or to all;
//   - DisableConfChangeValidation is off: v3.6 panics when it applies a
//     change that cannot apply, which only that option lets commit (ours
//     leaves the configuration as it is);
//   - MaxCommittedSizePerReady is 1 rather than 0 when MaxSizePerMsg is 0:
//     v3.6 panics ("applying entry size ... not positive") on the first
//     commit when both are 0 (TestEtcdPanicsWithZeroSizeLimits), and
//     either way every Ready carries one committed entry.
func newMixedPlan(seed uint64, p *sim.Plan) mixedPlan {
	r := rand.New(rand.NewPCG(seed, 0x6d69786564))
	mp := mixedPlan{voters: p.Voters}
	for id := range mp.libs {
		mp.libs[id] = library(r.IntN(2))
	}
	if p.Voters == 1 {
		mp.libs[2] = 1 - mp.libs[1]
		p.Work.ConfChange = max(p.Work.ConfChange, 1)
	} else {
		mp.oursVoters = 1 + r.IntN(p.Voters-1)
		ids := r.Perm(p.Voters)
		for i, x := range ids {
			mp.libs[x+1] = etcd36
			if i < mp.oursVoters {
				mp.libs[x+1] = ours
			}
		}
	}
	if mp.libs[1] == ours && p.Voters == 1 {
		mp.oursVoters = 1
	}
	if seed&4 != 0 {
		mp.async = asyncDrawn + asyncSplit(r.IntN(4))
		for id := 1; id <= sim.MaxNodes; id++ {
			switch mp.async {
			case asyncEtcdOnly:
				p.AsyncStorageWrites[id] = mp.libs[id] == etcd36
			case asyncOursOnly:
				p.AsyncStorageWrites[id] = mp.libs[id] == ours
			case asyncAll:
				p.AsyncStorageWrites[id] = true
			}
		}
	}
	adjustForEtcd(p)
	return mp
}

// adjustForEtcd turns off in p what etcd-raft v3.6 cannot run (see
// newMixedPlan).
func adjustForEtcd(p *sim.Plan) {
	p.Config.DisableConfChangeValidation = false
	if p.Config.MaxSizePerMsg == 0 && p.Config.MaxCommittedSizePerReady == 0 {
		p.Config.MaxCommittedSizePerReady = 1
	}
}

func (mp *mixedPlan) describe(nodes int) string {
	var b strings.Builder
	for id := 1; id <= nodes; id++ {
		fmt.Fprintf(&b, " %d=%s", id, mp.libs[id])
	}
	return fmt.Sprintf("libraries:%s; %d of %d initial voters ours; async: %s", b.String(), mp.oursVoters, mp.voters, mp.async)
}

// mixedResult is the outcome of one mixed run.
type mixedResult struct {
	sim.Result
	mix   mixedPlan
	watch watchStats
	// failures are what the watch found wrong on our nodes.
	failures []string
	// expected says why the run's violation or liveness failure is known
	// v3.6 behaviour (see runWatch.expected), or is "".
	expected string
}

// failed reports whether the run found anything but expected v3.6
// behaviour.
func (r *mixedResult) failed() bool {
	return (r.Violation != nil || r.Liveness != nil) && r.expected == "" || len(r.failures) > 0
}

func (r *mixedResult) String() string {
	s := r.Result.String()
	if r.expected != "" {
		s += " (expected of v3.6: " + r.expected + ")"
	}
	for _, f := range r.failures {
		s += "\n\t" + f
	}
	return s
}

// mixedOptions are the sim options every mixed run starts from.
type mixedOptions struct {
	steps, liveSteps int
	trace            io.Writer
	raftLog          bool
}

// runMixed plays one mixed run. NB: etcd-raft draws its election timeouts
// from crypto/rand, which the run makes deterministic with
// cryptotest.SetGlobalRandom. That source is the process's, so runs go one
// at a time, and t must not be parallel.
func runMixed(t *testing.T, seed uint64, o mixedOptions) mixedResult {
	cryptotest.SetGlobalRandom(t, seed)
	var mp mixedPlan
	var w *runWatch
	opts := sim.Options{
		Seed:          seed,
		Steps:         o.steps,
		LivenessSteps: o.liveSteps,
		Trace:         o.trace,
		RaftLog:       o.raftLog,
		Plan: func(p *sim.Plan) {
			mp = newMixedPlan(seed, p)
			w = newRunWatch(p.Config.ReadOnlyOption == raft.ReadOnlyLeaseBased, func(id uint64) library { return mp.libs[id] }, o.trace)
			w.tracef("%s", mp.describe(p.Nodes))
		},
	}
	opts.Peers = func(cfg *raft.Config) (sim.Peer, error) { return w.peers(cfg) }
	res := mixedResult{Result: sim.Run(opts), mix: mp, watch: w.stats, failures: w.failures}
	res.expected = w.expected(&res.Result)
	return res
}

// mixedSummary aggregates mixed runs.
type mixedSummary struct {
	runs       int
	steps      int64
	violations map[sim.Oracle]int
	liveness   map[sim.LivenessClass]int
	// expected counts the runs whose outcome is known v3.6 behaviour, by
	// reason.
	expected    map[string]int
	watchFailed int
	failed      []mixedResult
	// What the read oracles checked and what they were kept from.
	checkedReads, uncheckedLease int
	watch                        watchStats
	// mixes counts runs by initial voters and how many of them are ours;
	// modes by the seed's low four bits; async by split.
	mixes [6][6]int
	modes [16]int
	async [5]int
}

func newMixedSummary() *mixedSummary {
	return &mixedSummary{violations: make(map[sim.Oracle]int), liveness: make(map[sim.LivenessClass]int), expected: make(map[string]int)}
}

func (s *mixedSummary) add(r *mixedResult) {
	s.runs++
	s.steps += int64(r.Stats.Steps)
	s.checkedReads += r.Stats.CheckedReads
	s.uncheckedLease += r.Stats.UncheckedLeaseReads
	switch {
	case r.expected != "":
		s.expected[r.expected]++
	case r.Violation != nil:
		s.violations[r.Violation.Oracle]++
	case r.Liveness != nil:
		s.liveness[r.Liveness.Class]++
	}
	if len(r.failures) > 0 {
		s.watchFailed++
	}
	if r.failed() {
		s.failed = append(s.failed, *r)
	}
	s.watch.add(&r.watch)
	s.mixes[r.mix.voters][r.mix.oursVoters]++
	s.modes[r.Seed&15]++
	s.async[r.mix.async]++
}

func (a *watchStats) add(b *watchStats) {
	for i := range a.exempt {
		a.exempt[i].reads += b.exempt[i].reads
		a.exempt[i].stale += b.exempt[i].stale
		a.exempt[i].double += b.exempt[i].double
	}
	for i := range 2 {
		a.confV1[i] += b.confV1[i]
		a.confV2[i] += b.confV2[i]
		for j := range 2 {
			a.passed[i][j] += b.passed[i][j]
			a.transfers[i][j] += b.transfers[i][j]
			a.snapshots[i][j] += b.snapshots[i][j]
			a.forwardedReads[i][j] += b.forwardedReads[i][j]
		}
	}
	a.passedLease += b.passedLease
	a.passedRetries += b.passedRetries
	a.passedRetriesEtcd += b.passedRetriesEtcd
}

func (s *mixedSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs, %d steps\nviolations:", s.runs, s.steps)
	for _, o := range sim.Oracles() {
		fmt.Fprintf(&b, " %s=%d", o, s.violations[o])
	}
	fmt.Fprintf(&b, " watch(ours)=%d\nliveness failures:", s.watchFailed)
	for _, l := range sim.LivenessClasses() {
		fmt.Fprintf(&b, " %s=%d", l, s.liveness[l])
	}
	fmt.Fprintf(&b, "\noutcomes expected of v3.6: %s=%d, %s=%d\n", expectEtcdExit, s.expected[expectEtcdExit], expectEtcdNoVoters, s.expected[expectEtcdNoVoters])
	fmt.Fprintf(&b, "reads checked by the oracles %d (lease reads fixed by our leaders %d; retried contexts on our nodes fixed by our leaders %d, by etcd-raft leaders %d), lease reads unchecked (clocks not in lock step) %d\n",
		s.checkedReads, s.watch.passedLease, s.watch.passedRetries, s.watch.passedRetriesEtcd, s.uncheckedLease)
	fmt.Fprintf(&b, "  shown to the oracles, by node handing out <- leader fixing the index: ours<-ours %d, ours<-etcd %d, etcd<-ours %d, etcd<-etcd %d\n",
		s.watch.passed[ours][ours], s.watch.passed[ours][etcd36], s.watch.passed[etcd36][ours], s.watch.passed[etcd36][etcd36])
	b.WriteString("kept from the oracles as known v3.6 behaviour (reads / of which stale / answering a call twice):")
	for c := classEtcdLease; c < numReadClasses; c++ {
		e := s.watch.exempt[c]
		fmt.Fprintf(&b, " %s=%d/%d/%d", c, e.reads, e.stale, e.double)
	}
	w := &s.watch
	fmt.Fprintf(&b, "\ncrossings (ours->etcd, etcd->ours): forwarded reads %d, %d; transfers %d, %d; snapshots %d, %d\n",
		w.forwardedReads[ours][etcd36], w.forwardedReads[etcd36][ours], w.transfers[ours][etcd36], w.transfers[etcd36][ours],
		w.snapshots[ours][etcd36], w.snapshots[etcd36][ours])
	fmt.Fprintf(&b, "configuration changes applied (ours, etcd): v1 %d, %d; v2 %d, %d\nmixes (voters: runs with 1.. ours):",
		w.confV1[ours], w.confV1[etcd36], w.confV2[ours], w.confV2[etcd36])
	for v := 1; v <= 5; v++ {
		fmt.Fprintf(&b, " %d:%v", v, s.mixes[v][:max(v, 2)])
	}
	fmt.Fprintf(&b, "\nasync splits: %v", s.async)
	return b.String()
}

// TestMixedCluster runs the mixed-cluster simulation: the CI sweep (seeds
// from 1 until mixedCISteps steps have run), a longer one with
// -mixed.seeds or -mixed.total, or one seed with -mixed.seed. A run fails
// on any violation of the sim's oracles (election safety, applied entries,
// leader completeness, commit index, durability, stale and lease reads,
// read contexts, the Ready contract, no panic) on any node, on a liveness
// failure other than a membership stall caused by an etcd-raft node's
// exit, and on a double answer by one of our nodes among the reads kept
// from the oracles. Every failure is reported with its replay command.
//
// The CI sweep also checks that it covered what the mixed group must be
// tried on (see missingCoverage): every mix of initial voters, every mode,
// every split of asynchronous storage writes, reads checked on our nodes
// and on etcd-raft's with indexes fixed by either library's leaders,
// lease reads and retried contexts checked, reads forwarded, transfers
// and snapshots both ways, and configuration changes of both versions
// applied by both libraries.
func TestMixedCluster(t *testing.T) {
	if *flagMixedSeed != 0 {
		replayMixed(t, *flagMixedSeed)
		return
	}
	from, to := uint64(1), uint64(0)
	if *flagMixedSeeds != "" {
		if _, err := fmt.Sscanf(*flagMixedSeeds, "%d:%d", &from, &to); err != nil || to <= from {
			t.Fatalf("-mixed.seeds=%q: want FROM:TO with FROM < TO", *flagMixedSeeds)
		}
	}
	want := *flagMixedTotal
	ci := want == 0 && to == 0
	if ci {
		want = mixedCISteps
		if testing.Short() {
			want = mixedCIShortSteps
		}
	}
	start := time.Now()
	s := newMixedSummary()
	next := *flagMixedProgress
	// more reports whether the sweep goes on: within the seeds asked for
	// (if any) until it ran the steps asked for (if any); the CI sweep
	// also until it covered everything (at most mixedCIMaxRuns runs).
	more := func(seed uint64) bool {
		switch {
		case to != 0 && seed >= to:
			return false
		case ci && !testing.Short() && s.runs < mixedCIMaxRuns && len(missingCoverage(s)) > 0:
			return true
		}
		return want == 0 || s.steps < want
	}
	for seed := from; more(seed); seed++ {
		r := runMixed(t, seed, mixedOptions{})
		s.add(&r)
		switch {
		case r.failed():
			t.Errorf("%s\n\t%s\n\treplay: %s", r.String(), r.mix.describe(r.Plan.Nodes), mixedReplayCommand(seed))
		case r.expected != "":
			t.Logf("seed %d: %s\n\treplay: %s", seed, r.expected, mixedReplayCommand(seed))
		case *flagMixedVerbose:
			t.Logf("%s; %s", r.String(), r.mix.describe(r.Plan.Nodes))
		}
		if next > 0 && s.steps >= next {
			t.Logf("after seed %d: %d runs, %d steps, %d failed, %.0f s", seed, s.runs, s.steps, len(s.failed), time.Since(start).Seconds())
			next += *flagMixedProgress
		}
	}
	t.Logf("%s\n%.0f steps/s (wall clock, one run at a time)", s.String(), float64(s.steps)/time.Since(start).Seconds())
	if want > 0 && s.steps < want {
		t.Errorf("the sweep ran %d steps, want at least %d", s.steps, want)
	}
	if ci && !testing.Short() {
		for _, m := range missingCoverage(s) {
			t.Errorf("the sweep tried no %s in %d runs", m, s.runs)
		}
	}
}

// missingCoverage lists what a sweep has not tried yet of what a mixed
// group must be tried on.
func missingCoverage(s *mixedSummary) []string {
	var missing []string
	for v := 2; v <= 5; v++ {
		for k := 1; k < v; k++ {
			if s.mixes[v][k] == 0 {
				missing = append(missing, fmt.Sprintf("a run with %d of %d initial voters ours", k, v))
			}
		}
	}
	for m, n := range s.modes {
		if n == 0 {
			missing = append(missing, fmt.Sprintf("a run in mode %04b (split-ready, async, marshal, lock-step)", m))
		}
	}
	for a := asyncDrawn; a <= asyncAll; a++ {
		if s.async[a] == 0 {
			missing = append(missing, fmt.Sprintf("a run with asynchronous storage writes on %s", a))
		}
	}
	w := &s.watch
	for _, c := range []struct {
		what string
		n    int
	}{
		{"reads of our nodes fixed by our leaders, checked", w.passed[ours][ours]},
		{"reads of our nodes fixed by etcd-raft leaders, checked", w.passed[ours][etcd36]},
		{"reads of etcd-raft nodes fixed by our leaders, checked", w.passed[etcd36][ours]},
		{"lease reads fixed by our leaders, checked", w.passedLease},
		{"retried contexts on our nodes fixed by our leaders, checked", w.passedRetries},
		{"retried contexts on our nodes fixed by etcd-raft leaders, checked", w.passedRetriesEtcd},
		{"reads forwarded from ours to etcd-raft", w.forwardedReads[ours][etcd36]},
		{"reads forwarded from etcd-raft to ours", w.forwardedReads[etcd36][ours]},
		{"transfers from ours to etcd-raft", w.transfers[ours][etcd36]},
		{"transfers from etcd-raft to ours", w.transfers[etcd36][ours]},
		{"snapshots from ours to etcd-raft", w.snapshots[ours][etcd36]},
		{"snapshots from etcd-raft to ours", w.snapshots[etcd36][ours]},
		{"ConfChange applied by ours", w.confV1[ours]},
		{"ConfChange applied by etcd-raft", w.confV1[etcd36]},
		{"ConfChangeV2 applied by ours", w.confV2[ours]},
		{"ConfChangeV2 applied by etcd-raft", w.confV2[etcd36]},
	} {
		if c.n == 0 {
			missing = append(missing, c.what)
		}
	}
	return missing
}

// mixedReplayCommand returns the command that replays seed with its trace.
func mixedReplayCommand(seed uint64) string {
	return fmt.Sprintf("cd compat && go test -run 'TestMixedCluster$' -mixed.seed=%d -mixed.trace", seed)
}

// replayMixed runs one seed, traced if asked.
func replayMixed(t *testing.T, seed uint64) {
	o := mixedOptions{raftLog: *flagMixedRaftLog}
	var flush func()
	o.trace, flush = traceOutput(t)
	defer flush()
	r := runMixed(t, seed, o)
	t.Logf("%s; %s\n%+v\n%+v", r.String(), r.mix.describe(r.Plan.Nodes), r.Stats, r.watch)
	if r.failed() {
		t.Errorf("%s", r.String())
	}
}

// traceOutput returns where -mixed.trace and -mixed.tracefile send a
// replayed run's trace (nil without -mixed.trace), and what to call when
// the run is over.
func traceOutput(t *testing.T) (io.Writer, func()) {
	if !*flagMixedTrace {
		return nil, func() {}
	}
	var out io.Writer = os.Stdout
	var f *os.File
	if *flagMixedTraceTo != "" {
		var err error
		if f, err = os.Create(*flagMixedTraceTo); err != nil {
			t.Fatal(err)
		}
		out = f
	}
	bw := bufio.NewWriter(out)
	return bw, func() {
		bw.Flush()
		if f != nil {
			f.Close()
		}
	}
}

// TestMixedRunIsReproducible checks that a mixed seed gives the same run,
// bit for bit, every time, traced or not, so that a failure's replay
// command shows the failure: etcd-raft's randomness included.
func TestMixedRunIsReproducible(t *testing.T) {
	for seed := uint64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			trace := func() ([32]byte, mixedResult) {
				h := sha256.New()
				r := runMixed(t, seed, mixedOptions{steps: 1500, liveSteps: 3000, trace: h, raftLog: true})
				var sum [32]byte
				copy(sum[:], h.Sum(nil))
				return sum, r
			}
			h1, r1 := trace()
			h2, r2 := trace()
			if h1 != h2 {
				t.Errorf("got traces with digests %x and %x, want the same", h1, h2)
			}
			r3 := runMixed(t, seed, mixedOptions{steps: 1500, liveSteps: 3000})
			for _, r := range []mixedResult{r2, r3} {
				if got, want := r.String(), r1.String(); got != want {
					t.Errorf("got %s, want %s", got, want)
				}
				if r.Stats != r1.Stats {
					t.Errorf("got stats %+v, want %+v", r.Stats, r1.Stats)
				}
				if r.watch != r1.watch {
					t.Errorf("got watch counts %+v, want %+v", r.watch, r1.watch)
				}
			}
		})
	}
}
