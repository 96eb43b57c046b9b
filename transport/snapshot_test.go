package transport

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

func snapMsg(from, to uint64, data []byte) raftpb.Message {
	return raftpb.Message{Type: raftpb.MsgSnap, From: from, To: to, Term: 3, Snapshot: &raftpb.Snapshot{
		Data: data,
		Metadata: raftpb.SnapshotMetadata{
			Index: 100, Term: 3, ConfState: raftpb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}},
		},
	}}
}

// startSnapshotGate starts node id whose Raft runs gate before taking a
// MsgSnap and refuses the snapshot if gate fails.
func startSnapshotGate(t *testing.T, id uint64, gate func(ctx context.Context) error) *testNode {
	host := newRecorder()
	host.stepHook = func(ctx context.Context, m raftpb.Message) error {
		if m.Type == raftpb.MsgSnap {
			return gate(ctx)
		}
		return nil
	}
	cfg := testConfig(id)
	cfg.Raft = host
	return startNode(t, cfg, "127.0.0.1:0")
}

func wantReports(t *testing.T, r *recorder, want []snapReport) {
	t.Helper()
	if got := r.snapshotReports(); !reflect.DeepEqual(got, want) {
		t.Errorf("got snapshot reports %v, want %v", got, want)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestSnapshotDelivered(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"nil data", nil},
		{"empty data", []byte{}},
		{"one chunk", randomBytes(1000)},
		{"many chunks", randomBytes(8<<20 + 123)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(1)
			cfg.SnapshotChunkSize = 64 << 10
			a := startNode(t, cfg, "127.0.0.1:0")
			b := startNode(t, testConfig(2), "127.0.0.1:0")
			link(t, a, b)
			m := snapMsg(1, 2, tt.data)
			a.tr.Send([]raftpb.Message{m})
			a.host.waitFor(t, "the snapshot report", func(r *recorder) bool { return len(r.snapshots) > 0 })
			// b steps the snapshot before acknowledging it, so it has it by now.
			got := b.host.received()
			if len(got) != 1 || !reflect.DeepEqual(got[0], m) {
				t.Fatalf("got %d messages (%v), want the snapshot", len(got), got)
			}
			if got, want := a.host.snapshotReports(), []snapReport{{2, raft.SnapshotFinish}}; !reflect.DeepEqual(got, want) {
				t.Errorf("got reports %v, want %v", got, want)
			}
		})
	}
}

func TestSnapshotFailures(t *testing.T) {
	t.Run("peer unreachable", func(t *testing.T) {
		a := startNode(t, testConfig(1), "127.0.0.1:0")
		a.tr.AddPeer(2, "127.0.0.1:1")
		a.tr.Send([]raftpb.Message{snapMsg(1, 2, []byte("data"))})
		a.host.waitFor(t, "the snapshot report", func(r *recorder) bool { return len(r.snapshots) > 0 })
		wantReports(t, a.host, []snapReport{{2, raft.SnapshotFailure}})
	})
	t.Run("raft refuses it", func(t *testing.T) {
		a := startNode(t, testConfig(1), "127.0.0.1:0")
		b := startSnapshotGate(t, 2, func(ctx context.Context) error { return errors.New("no thanks") })
		link(t, a, b)
		a.tr.Send([]raftpb.Message{snapMsg(1, 2, []byte("data"))})
		a.host.waitFor(t, "the snapshot report", func(r *recorder) bool { return len(r.snapshots) > 0 })
		wantReports(t, a.host, []snapReport{{2, raft.SnapshotFailure}})
		eventually(t, "the refusal logged by the sender", func() bool { return a.log.contains("snapshot", "no thanks") })
	})
	t.Run("no snapshot in MsgSnap", func(t *testing.T) {
		a := startNode(t, testConfig(1), "127.0.0.1:0")
		a.tr.AddPeer(2, "127.0.0.1:1")
		a.tr.Send([]raftpb.Message{{Type: raftpb.MsgSnap, From: 1, To: 2}})
		a.host.waitFor(t, "the snapshot report", func(r *recorder) bool { return len(r.snapshots) > 0 })
		wantReports(t, a.host, []snapReport{{2, raft.SnapshotFailure}})
	})
}

func TestSecondSnapshotWhileOneIsSentFails(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	release := make(chan struct{})
	b := startSnapshotGate(t, 2, func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	link(t, a, b)
	a.tr.Send([]raftpb.Message{snapMsg(1, 2, []byte("first"))})
	eventually(t, "the first snapshot under way", func() bool {
		st, _ := peerStatus(a, 2)
		return st.SendingSnapshot
	})
	a.tr.Send([]raftpb.Message{snapMsg(1, 2, []byte("second"))})
	a.host.waitFor(t, "the second snapshot's failure", func(r *recorder) bool { return len(r.snapshots) == 1 })
	close(release)
	a.host.waitFor(t, "the first snapshot's success", func(r *recorder) bool { return len(r.snapshots) == 2 })
	want := []snapReport{{2, raft.SnapshotFailure}, {2, raft.SnapshotFinish}}
	if got := a.host.snapshotReports(); !reflect.DeepEqual(got, want) {
		t.Errorf("got reports %v, want %v", got, want)
	}
	if got := b.host.received(); len(got) != 1 || string(got[0].Snapshot.Data) != "first" {
		t.Errorf("got %v stepped, want the first snapshot only", got)
	}
}

// gatedListener hands out connections that stop reading, once one of
// them has read more than limit bytes, until open is closed.
type gatedListener struct {
	net.Listener
	limit   int64
	open    chan struct{}
	stalled chan struct{} // closed when a connection first waits at the gate
	once    sync.Once
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, l: l}, nil
}

type gatedConn struct {
	net.Conn
	l    *gatedListener
	read atomic.Int64
}

func (c *gatedConn) Read(p []byte) (int, error) {
	if c.read.Load() > c.l.limit {
		c.l.once.Do(func() { close(c.l.stalled) })
		<-c.l.open
	}
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func TestSnapshotDoesNotHoldUpMessages(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gate := &gatedListener{Listener: ln, limit: 1 << 20, open: make(chan struct{}), stalled: make(chan struct{})}
	var openOnce sync.Once
	openGate := func() { openOnce.Do(func() { close(gate.open) }) }
	defer openGate()
	b := &testNode{id: 2, host: newRecorder(), log: &logRecorder{}, addr: ln.Addr().String(), done: make(chan error, 1)}
	cfg := testConfig(2)
	cfg.Raft, cfg.Logger = b.host, b.log
	if b.tr, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.tr.Serve(gate) }()
	t.Cleanup(func() { openGate(); b.stop(t) })
	link(t, a, b)

	snap := snapMsg(1, 2, randomBytes(16<<20))
	a.tr.Send([]raftpb.Message{snap})
	select {
	case <-gate.stalled:
	case <-time.After(waitLimit):
		t.Fatal("the snapshot stream never reached the gate")
	}
	var msgs []raftpb.Message
	for i := uint64(1); i <= 20; i++ {
		msgs = append(msgs, appMsg(1, 2, i, []byte("behind the snapshot")))
	}
	a.tr.Send(msgs)
	b.host.waitFor(t, "the messages sent after the snapshot", func(r *recorder) bool { return len(r.msgs) == 20 })
	if got := a.host.snapshotReports(); len(got) != 0 {
		t.Fatalf("got snapshot reports %v while the snapshot is stalled, want none", got)
	}
	openGate()
	b.host.waitFor(t, "the snapshot", func(r *recorder) bool { return len(r.msgs) == 21 })
	a.host.waitFor(t, "the snapshot report", func(r *recorder) bool { return len(r.snapshots) == 1 })
	if got := b.host.received()[20]; !reflect.DeepEqual(got, snap) {
		t.Errorf("got %v last, want the snapshot", got.Type)
	}
	if got := a.host.snapshotReports()[0]; got != (snapReport{2, raft.SnapshotFinish}) {
		t.Errorf("got report %v, want finish", got)
	}
}

// TestSnapshotIsNotCopied checks the memory promise for snapshots: the
// sender writes the data where it lies and the receiver allocates it once,
// so sending a snapshot between two transports in one process allocates
// about one snapshot's worth, not two or three.
func TestSnapshotIsNotCopied(t *testing.T) {
	const size = 64 << 20
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	b := startNode(t, testConfig(2), "127.0.0.1:0")
	link(t, a, b)
	snap := snapMsg(1, 2, randomBytes(size))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a.tr.Send([]raftpb.Message{snap})
	a.host.waitFor(t, "the snapshot report", func(r *recorder) bool { return len(r.snapshots) == 1 })
	runtime.ReadMemStats(&after)

	if got := a.host.snapshotReports()[0]; got != (snapReport{2, raft.SnapshotFinish}) {
		t.Fatalf("got report %v, want finish", got)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	if limit := uint64(size + size/8); allocated > limit {
		t.Errorf("got %d MiB allocated to send a %d MiB snapshot, want at most %d MiB",
			allocated>>20, size>>20, limit>>20)
	}
}

func TestSnapshotReceiverRefusesBadStreams(t *testing.T) {
	m := snapMsg(1, 2, nil)
	header := func(m raftpb.Message, dataLen uint64) []byte {
		p, err := encodeSnapHeader(&m)
		if err != nil {
			t.Fatal(err)
		}
		p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7] = byte(dataLen>>56), byte(dataLen>>48), byte(dataLen>>40),
			byte(dataLen>>32), byte(dataLen>>24), byte(dataLen>>16), byte(dataLen>>8), byte(dataLen)
		p[8] = 0
		return appendFrame(nil, kindSnapHeader, 0, p)
	}
	forged := m
	forged.From = 3
	tests := []struct {
		name   string
		send   []byte
		reason string
	}{
		{"over MaxSnapshotSize", header(m, 1<<40), "exceeds MaxSnapshotSize"},
		{"forged sender", header(forged, 4), "claims to come from 3"},
		{"chunk past the end", append(header(m, 4), appendFrame(nil, kindSnapChunk, 0, []byte("12345"))...), "snapshot-chunk frame of 5 bytes"},
		{"messages instead of chunks", append(header(m, 4), messagesFrame(appMsg(1, 2, 1, nil))...), "unexpected messages frame"},
		{"cut in the data", append(header(m, 10), appendFrame(nil, kindSnapChunk, 0, []byte("12345"))...), "offset 5 of 10"},
		{"not a snapshot header", messagesFrame(appMsg(1, 2, 1, nil)), "opening a snapshot stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startNode(t, testConfig(2), "127.0.0.1:0")
			b.tr.AddPeer(1, "127.0.0.1:1")
			c := rawDial(t, b.addr)
			if f := rawHello(t, c, hello{0xc1, 1, 2, streamSnapshot}); f.kind != kindAccept {
				t.Fatalf("got %s answer to hello, want accept", f.kind)
			}
			c.Write(tt.send)
			c.(*net.TCPConn).CloseWrite()
			expectClosed(t, c)
			eventually(t, "the reason logged", func() bool {
				return b.log.contains("closing snapshot stream from peer 1", tt.reason)
			})
			if got := b.host.received(); len(got) != 0 {
				t.Errorf("got %d messages stepped, want 0", len(got))
			}
		})
	}
}

func TestSnapshotReceiverBoundsEachChunkInTime(t *testing.T) {
	cfg := testConfig(2)
	cfg.SnapshotTimeout = 300 * time.Millisecond
	b := startNode(t, cfg, "127.0.0.1:0")
	b.tr.AddPeer(1, "127.0.0.1:1")
	c := rawDial(t, b.addr)
	rawHello(t, c, hello{0xc1, 1, 2, streamSnapshot})
	m := snapMsg(1, 2, make([]byte, 10))
	head, _ := encodeSnapHeader(&m)
	c.Write(appendFrame(nil, kindSnapHeader, 0, head))
	// ... and then nothing: the receiver must give up on its own.
	expectClosed(t, c)
	eventually(t, "the timeout logged", func() bool {
		return b.log.contains("closing snapshot stream from peer 1", fmt.Sprintf("offset 0 of %d", 10), "timeout")
	})
}
