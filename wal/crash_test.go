package wal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs/faultfs"
	"github.com/stretchr/testify/require"
)

// crashOpts makes segments small, so that the scripted workload rotates
// and removes segments, and the cache small, so that reads hit the disk.
var crashOpts = Options{SegmentBytes: MinSegmentBytes, CacheBytes: 512}

// bigEnts returns entries lo..hi of term t whose payloads vary from about
// 100 to 500 bytes, so that a few fill a segment.
func bigEnts(lo, hi, t uint64) []pb.Entry {
	es := ents(lo, hi, t)
	for i := range es {
		pad := make([]byte, 100+int(es[i].Index*37%400))
		for k := range pad {
			pad[k] = byte(es[i].Index) + byte(k)
		}
		es[i].Data = append(es[i].Data, pad...)
	}
	return es
}

func save(es []pb.Entry, term, commit uint64, sync bool) op {
	return op{kind: "save", ents: es, hs: pb.HardState{Term: term, Vote: 1, Commit: commit}, sync: sync}
}

// crashScript is the workload crashed at every step: appends, an
// unsynced commit, overwrites of an uncommitted tail by new leaders,
// snapshots created and received, and compactions that remove segments.
var crashScript = []op{
	save(bigEnts(1, 5, 1), 1, 0, true),
	save(nil, 1, 3, false),
	save(bigEnts(6, 12, 1), 1, 5, true),
	save(bigEnts(9, 14, 2), 2, 8, true),
	{kind: "create", index: 8, cs: &pb.ConfState{Voters: []uint64{1, 2, 3}}, data: []byte("state at 8")},
	{kind: "compact", index: 6},
	save(nil, 2, 9, false),
	save(bigEnts(15, 30, 2), 2, 25, true),
	{kind: "create", index: 20, data: []byte("state at 20")},
	{kind: "compact", index: 20},
	{kind: "save", snap: pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 40, Term: 3,
		ConfState: pb.ConfState{Voters: []uint64{1, 2}}}, Data: []byte("leader's state at 40")},
		ents: bigEnts(41, 45, 3), hs: pb.HardState{Term: 3, Vote: 2, Commit: 41}, sync: true},
	save(bigEnts(46, 60, 3), 3, 50, true),
	save(nil, 3, 52, false),
	save(bigEnts(55, 58, 4), 4, 52, true),
	{kind: "create", index: 50, data: []byte("state at 50")},
	{kind: "compact", index: 50},
	save(nil, 4, 55, false),
	save(bigEnts(59, 72, 4), 4, 58, true),
	// Entries large enough that a write passes their data to the file
	// system as it is (see writeBuf).
	save(largeEnts(70, 73, 4), 4, 70, true),
}

// largeEnts returns entries lo..hi of term t whose data, of spliceMinData
// bytes and more, a write splices rather than copies.
func largeEnts(lo, hi, t uint64) []pb.Entry {
	es := ents(lo, hi, t)
	for i := range es {
		pad := make([]byte, spliceMinData+int(es[i].Index))
		for k := range pad {
			pad[k] = byte(es[i].Index) ^ byte(k)
		}
		es[i].Data = append(es[i].Data, pad...)
	}
	return es
}

// applyScriptOp performs o on s; a "save" may carry a snapshot.
func applyScriptOp(s *Store, o op) error {
	if o.kind == "save" {
		return s.Save(raft.Ready{Snapshot: o.snap, Entries: o.ents, HardState: o.hs, MustSync: o.sync})
	}
	return applyStore(s, o)
}

// durable reports whether o, once it returned nil, is durable.
func durable(o op) bool { return o.kind != "save" || o.sync || o.snap.Metadata.Index != 0 }

// scriptStates returns the states a crash during the script may leave:
// states[j] after the j-th record written, and for each op the range of
// record indexes it spans: op k ends at ends[k] (ends[-1] is 0, the empty
// store). The states are computed on raft.MemoryStorage, record by record
// in the order Save writes them: snapshot, entries, HardState.
func scriptStates(t testing.TB, script []op) (states []storageState, ends []int) {
	ms := raft.NewMemoryStorage()
	states = append(states, readState(t, ms))
	for _, o := range script {
		step := func(f func() error) {
			require.NoError(t, f())
			states = append(states, readState(t, ms))
		}
		switch o.kind {
		case "save":
			if o.snap.Metadata.Index != 0 {
				step(func() error { return ms.ApplySnapshot(o.snap) })
			}
			for _, e := range o.ents {
				step(func() error { return ms.Append([]pb.Entry{e}) })
			}
			if !raft.IsEmptyHardState(o.hs) {
				step(func() error { return ms.SetHardState(o.hs) })
			}
		default:
			step(func() error { applyModel(t, ms, o); return nil })
		}
		ends = append(ends, len(states)-1)
	}
	return states, ends
}

var errCrash = errors.New("crashed")

// crashAfter makes every mutating operation on fs after the first k fail
// with errCrash, and returns the count of mutating operations attempted.
func crashAfter(fs *faultfs.FS, k int) *int {
	ops := new(int)
	fs.SetFault(func(op faultfs.Op) error {
		if isMutation(op.Kind) {
			if *ops++; *ops > k {
				return errCrash
			}
		}
		return nil
	})
	return ops
}

// isMutation reports whether an operation of kind k changes the file
// system.
func isMutation(k faultfs.OpKind) bool {
	switch k {
	case faultfs.OpRead, faultfs.OpList, faultfs.OpOpen:
		return false
	}
	return true
}

// scriptRun is the outcome of running the script until a fault.
type scriptRun struct {
	fs *faultfs.FS
	// lastOp is the last mutating operation carried out.
	lastOp faultfs.Op
	// durableEnd and attemptEnd bound the states the store may recover:
	// from the end of the last op that returned nil durably, to the end
	// of the op that was cut short (or of the last op).
	durableEnd, attemptEnd int
	// ackedEnd is the end of the last op that returned nil.
	ackedEnd int
	// err is the first error a call returned, nil if none.
	err error
	// store is the store the script ran on, nil if Open failed.
	store *Store
}

// runScript opens a store and runs script on it; fault decides the fate of
// each mutating operation (n counts them from 1).
func runScript(t testing.TB, script []op, ends []int, fault func(n int, op faultfs.Op) error) scriptRun {
	fs := faultfs.New()
	run := scriptRun{fs: fs}
	n := 0
	fs.SetFault(func(op faultfs.Op) error {
		if !isMutation(op.Kind) {
			return nil
		}
		n++
		if err := fault(n, op); err != nil {
			return err
		}
		run.lastOp = op
		return nil
	})
	s, err := Open(testDir, Options{FS: fs, SegmentBytes: crashOpts.SegmentBytes, CacheBytes: crashOpts.CacheBytes})
	if err != nil {
		run.err = err
		return run
	}
	run.store = s
	for k, o := range script {
		run.attemptEnd = ends[k]
		if err := applyScriptOp(s, o); err != nil {
			run.err = err
			return run
		}
		run.ackedEnd = ends[k]
		if durable(o) {
			run.durableEnd = ends[k]
		}
	}
	return run
}

// countOps returns the number of mutating operations the script makes.
func countOps(t testing.TB, script []op, ends []int) int {
	total := 0
	run := runScript(t, script, ends, func(n int, _ faultfs.Op) error { total = n; return nil })
	require.NoError(t, run.err)
	return total
}

// checkRecovered opens the store on fs and checks that its state is one
// of states[lo..hi] and satisfies the Storage contract; then that it takes
// a further write and keeps it across a reopening.
func checkRecovered(t *testing.T, fs *faultfs.FS, states []storageState, lo, hi int, what string) {
	t.Helper()
	s, err := Open(testDir, Options{FS: fs, SegmentBytes: crashOpts.SegmentBytes, CacheBytes: crashOpts.CacheBytes})
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	got := readState(t, s)
	checkContract(t, got, what)
	match := -1
	for j := hi; j >= lo; j-- {
		if equalStates(got, states[j]) {
			match = j
			break
		}
	}
	if match < 0 {
		t.Fatalf("%s: recovered state (first %d, last %d, %v, snapshot %d) is none of the states %d..%d the writes allow (the first: first %d, last %d, %v)",
			what, got.First, got.Last, got.HardState, got.Snapshot.Metadata.Index, lo, hi, states[lo].First, states[lo].Last, states[lo].HardState)
	}
	// The recovered store takes new writes after what it kept.
	next := got.Last + 1
	term := max(got.HardState.Term, got.DummyTerm)
	if len(got.Entries) > 0 {
		term = max(term, got.Entries[len(got.Entries)-1].Term)
	}
	more := bigEnts(next, next+2, term)
	hs := pb.HardState{Term: term, Vote: got.HardState.Vote, Commit: got.HardState.Commit}
	if err := s.Save(raft.Ready{Entries: more, HardState: hs, MustSync: true}); err != nil {
		t.Fatalf("%s: Save after recovery: %v", what, err)
	}
	want := readState(t, s)
	require.NoError(t, s.Close())
	s, err = Open(testDir, Options{FS: fs, SegmentBytes: crashOpts.SegmentBytes, CacheBytes: crashOpts.CacheBytes})
	if err != nil {
		t.Fatalf("%s: Open after recovery and a write: %v", what, err)
	}
	if again := readState(t, s); !equalStates(again, want) {
		t.Fatalf("%s: after recovery and a write, got last %d, want %d", what, again.Last, want.Last)
	}
	require.NoError(t, s.Close())
}

func equalStates(a, b storageState) bool {
	return reflect.DeepEqual(a, b)
}

func equalStatesOld(a, b storageState) bool {
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

// checkContract checks the raft.Storage invariants on a recovered state.
func checkContract(t *testing.T, st storageState, what string) {
	t.Helper()
	if st.First > st.Last+1 {
		t.Fatalf("%s: got first index %d > last %d + 1", what, st.First, st.Last)
	}
	if st.HardState.Commit > st.Last {
		t.Fatalf("%s: got commit %d > last index %d", what, st.HardState.Commit, st.Last)
	}
	prev := st.DummyTerm
	for _, e := range st.Entries {
		if e.Term < prev {
			t.Fatalf("%s: got term %d at index %d after term %d", what, e.Term, e.Index, prev)
		}
		prev = e.Term
	}
	if st.Snapshot.Metadata.Index < st.First-1 {
		t.Fatalf("%s: got snapshot %d below the compacted index %d", what, st.Snapshot.Metadata.Index, st.First-1)
	}
}

// tearPoints are the byte counts of a write of n bytes that a crash keeps:
// around the headers, the middle, the end, and two drawn from rng.
func tearPoints(n int, rng *rand.Rand) []int {
	pts := map[int]bool{}
	for _, p := range []int{0, 1, 4, 8, 12, 19, 20, 21, 31, 32, 33, n / 2, n - 1, n} {
		if p >= 0 && p <= n {
			pts[p] = true
		}
	}
	pts[rng.IntN(n+1)] = true
	pts[rng.IntN(n+1)] = true
	var out []int
	for p := range pts {
		out = append(out, p)
	}
	return out
}

// TestCrashAtEveryStep runs the script, crashes the machine after each of
// its file-system operations in turn, under several plans of what the disk
// kept, and checks what Open recovers: every write acknowledged as durable
// is there, nothing never written appears (the state is one the records
// written so far produce, in order), and the Storage contract holds.
func TestCrashAtEveryStep(t *testing.T) {
	states, ends := scriptStates(t, crashScript)
	total := countOps(t, crashScript, ends)
	rng := rand.New(rand.NewPCG(7, 7))
	recoveries := 0
	for n := 1; n <= total; n++ {
		run := runScript(t, crashScript, ends, func(k int, _ faultfs.Op) error {
			if k > n {
				return errCrash
			}
			return nil
		})
		if run.err != nil && !errors.Is(run.err, errCrash) {
			t.Fatalf("crash after op %d: got error %v, want the crash", n, run.err)
		}
		type plan struct {
			name string
			p    faultfs.CrashPlan
		}
		plans := []plan{
			{"nothing unsynced kept", faultfs.CrashPlan{}},
			{"everything kept", faultfs.KeepAll},
			{"data kept, names lost", faultfs.CrashPlan{KeepBytes: faultfs.KeepAll.KeepBytes}},
			{"names kept, data lost", faultfs.CrashPlan{KeepDirOps: faultfs.KeepAll.KeepDirOps}},
		}
		if last := run.lastOp; last.Kind == faultfs.OpWrite {
			for _, b := range tearPoints(last.Bytes, rng) {
				plans = append(plans, plan{fmt.Sprintf("last write torn after %d of %d bytes", b, last.Bytes), faultfs.CrashPlan{
					KeepBytes: func(path string, unsynced int) int {
						if path == last.Path {
							return unsynced - last.Bytes + b
						}
						return unsynced
					},
					KeepDirOps: faultfs.KeepAll.KeepDirOps,
				}})
			}
		}
		for _, p := range plans {
			fs := run.fs.Clone()
			fs.Crash(p.p)
			what := fmt.Sprintf("crash after op %d (%v %s), %s", n, run.lastOp.Kind, run.lastOp.Path, p.name)
			checkRecovered(t, fs, states, run.durableEnd, run.attemptEnd, what)
			recoveries++
		}
	}
	t.Logf("%d crash points, %d recoveries", total, recoveries)
}

// TestCrashDuringRecovery crashes the machine after every write of the
// script with half the write kept, then crashes again after each
// file-system operation of the Open that recovers from it (cutting the
// torn tail, restarting a segment, removing leftovers), and checks what the
// next Open recovers.
func TestCrashDuringRecovery(t *testing.T) {
	states, ends := scriptStates(t, crashScript)
	total := countOps(t, crashScript, ends)
	recoveries := 0
	defer func() { t.Logf("%d recoveries interrupted", recoveries) }()
	for n := 1; n <= total; n++ {
		run := runScript(t, crashScript, ends, func(k int, _ faultfs.Op) error {
			if k > n {
				return errCrash
			}
			return nil
		})
		last := run.lastOp
		if last.Kind != faultfs.OpWrite {
			continue
		}
		torn := faultfs.CrashPlan{
			KeepBytes: func(path string, unsynced int) int {
				if path == last.Path {
					return unsynced - last.Bytes/2
				}
				return unsynced
			},
			KeepDirOps: faultfs.KeepAll.KeepDirOps,
		}
		for k := 1; ; k++ {
			fs := run.fs.Clone()
			fs.Crash(torn)
			crashAfter(fs, k)
			s, err := Open(testDir, Options{FS: fs, SegmentBytes: crashOpts.SegmentBytes, CacheBytes: crashOpts.CacheBytes})
			fs.SetFault(nil)
			fs.Crash(faultfs.CrashPlan{})
			what := fmt.Sprintf("crash after op %d with its write torn, then after op %d of the recovery", n, k)
			checkRecovered(t, fs, states, run.durableEnd, run.attemptEnd, what)
			if err == nil {
				s.Close()
				break
			}
			if !errors.Is(err, errCrash) {
				t.Fatalf("%s: Open: got %v, want the crash", what, err)
			}
			recoveries++
		}
	}
}
