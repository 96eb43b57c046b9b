package transport

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// waitLimit bounds every wait in these tests. It is generous: the tests
// must pass on two busy cores under -race.
const waitLimit = 15 * time.Second

// recorder is a Raft that records what the transport hands it. Every
// change wakes the goroutines waiting in waitFor.
type recorder struct {
	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every change
	msgs        []raftpb.Message
	unreachable map[uint64]int
	snapshots   []snapReport
	// stepHook, if set, runs inside Step (without mu) and its error is
	// returned; it may block until ctx ends.
	stepHook func(ctx context.Context, m raftpb.Message) error
}

type snapReport struct {
	id     uint64
	status raft.SnapshotStatus
}

func newRecorder() *recorder {
	return &recorder{changed: make(chan struct{}), unreachable: map[uint64]int{}}
}

func (r *recorder) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) Step(ctx context.Context, m raftpb.Message) error {
	if r.stepHook != nil {
		if err := r.stepHook(ctx, m); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	r.notify()
	return nil
}

func (r *recorder) ReportUnreachable(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreachable[id]++
	r.notify()
}

func (r *recorder) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snapshots = append(r.snapshots, snapReport{id, status})
	r.notify()
}

// waitFor waits until cond, evaluated with r locked, holds.
func (r *recorder) waitFor(t *testing.T, what string, cond func(r *recorder) bool) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond(r)
		changed := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
	}
}

func (r *recorder) received() []raftpb.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]raftpb.Message(nil), r.msgs...)
}

func (r *recorder) unreachableCount(id uint64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unreachable[id]
}

func (r *recorder) snapshotReports() []snapReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]snapReport(nil), r.snapshots...)
}

// eventually polls cond until it holds or waitLimit passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logRecorder is a raft.Logger that keeps every line, so tests can check
// that a refusal was logged with its reason. Lines are echoed to the test
// log when the test fails.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) add(level, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+s)
}

// contains reports whether some line holds every one of parts.
func (l *logRecorder) contains(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func (l *logRecorder) dump(t *testing.T, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		t.Logf("%s: %s", name, line)
	}
}

func (l *logRecorder) Debug(v ...any)                 { l.add("DEBUG", fmt.Sprint(v...)) }
func (l *logRecorder) Debugf(format string, v ...any) { l.add("DEBUG", fmt.Sprintf(format, v...)) }
func (l *logRecorder) Info(v ...any)                  { l.add("INFO", fmt.Sprint(v...)) }
func (l *logRecorder) Infof(format string, v ...any)  { l.add("INFO", fmt.Sprintf(format, v...)) }
func (l *logRecorder) Warning(v ...any)               { l.add("WARN", fmt.Sprint(v...)) }
func (l *logRecorder) Warningf(format string, v ...any) {
	l.add("WARN", fmt.Sprintf(format, v...))
}
func (l *logRecorder) Error(v ...any)                 { l.add("ERROR", fmt.Sprint(v...)) }
func (l *logRecorder) Errorf(format string, v ...any) { l.add("ERROR", fmt.Sprintf(format, v...)) }
func (l *logRecorder) Fatal(v ...any)                 { panic(fmt.Sprint(v...)) }
func (l *logRecorder) Fatalf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
func (l *logRecorder) Panic(v ...any)                 { panic(fmt.Sprint(v...)) }
func (l *logRecorder) Panicf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }

// testNode is a Transport serving on a loopback port, with its recorder
// and log.
type testNode struct {
	id   uint64
	tr   *Transport
	host *recorder
	log  *logRecorder
	addr string
	done chan error // Serve's result
	// served makes stop check Serve's result once.
	served sync.Once
}

// testConfig is the configuration the tests start from: short pauses so
// that reconnects happen quickly, everything else at its default.
func testConfig(id uint64) Config {
	return Config{
		ID:           id,
		ClusterID:    0xc1,
		ReconnectMin: 10 * time.Millisecond,
		ReconnectMax: 200 * time.Millisecond,
	}
}

// startNode starts a transport for cfg (Raft and Logger are filled in) on
// addr ("127.0.0.1:0" for any port) and closes it when the test ends.
func startNode(t *testing.T, cfg Config, addr string) *testNode {
	t.Helper()
	n := &testNode{id: cfg.ID, host: newRecorder(), log: &logRecorder{}, done: make(chan error, 1)}
	if cfg.Raft == nil {
		cfg.Raft = n.host
	} else if r, ok := cfg.Raft.(*recorder); ok {
		n.host = r
	}
	cfg.Logger = n.log
	tr, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	n.tr = tr
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tr.Close()
		t.Fatalf("listen on %s: %v", addr, err)
	}
	n.addr = ln.Addr().String()
	go func() { n.done <- tr.Serve(ln) }()
	t.Cleanup(func() {
		n.stop(t)
		if t.Failed() {
			n.log.dump(t, fmt.Sprintf("node %x at %s", n.id, n.addr))
		}
	})
	return n
}

// stop closes the transport and checks that Serve returned ErrClosed. It
// may be called more than once.
func (n *testNode) stop(t *testing.T) {
	t.Helper()
	if err := n.tr.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	n.served.Do(func() {
		select {
		case err := <-n.done:
			if err != ErrClosed {
				t.Errorf("Serve returned %v, want %v", err, ErrClosed)
			}
		case <-time.After(waitLimit):
			t.Errorf("Serve did not return within %v of Close", waitLimit)
		}
	})
}

// link makes a and b peers of each other and waits until both message
// streams are up.
func link(t *testing.T, a, b *testNode) {
	t.Helper()
	if err := a.tr.AddPeer(b.id, b.addr); err != nil {
		t.Fatalf("AddPeer(%x): %v", b.id, err)
	}
	if err := b.tr.AddPeer(a.id, a.addr); err != nil {
		t.Fatalf("AddPeer(%x): %v", a.id, err)
	}
	waitConnected(t, a, b.id)
	waitConnected(t, b, a.id)
}

func peerStatus(n *testNode, id uint64) (PeerStatus, bool) {
	for _, st := range n.tr.Peers() {
		if st.ID == id {
			return st, true
		}
	}
	return PeerStatus{}, false
}

func waitConnected(t *testing.T, n *testNode, id uint64) {
	t.Helper()
	eventually(t, fmt.Sprintf("node %x connected to %x", n.id, id), func() bool {
		st, _ := peerStatus(n, id)
		return st.Connected
	})
}

// appMsg returns a MsgApp from from to to carrying one entry at index
// whose data is payload.
func appMsg(from, to, index uint64, payload []byte) raftpb.Message {
	return raftpb.Message{
		Type: raftpb.MsgApp, From: from, To: to, Term: 2, LogTerm: 2, Index: index - 1, Commit: index - 1,
		Entries: []raftpb.Entry{{Term: 2, Index: index, Data: payload}},
	}
}
