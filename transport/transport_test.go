package transport

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/quorate/raft/raftpb"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	valid := func() Config {
		c := testConfig(1)
		c.Raft = newRecorder()
		return c
	}
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"zero ID", func(c *Config) { c.ID = 0 }},
		{"zero cluster", func(c *Config) { c.ClusterID = 0 }},
		{"no Raft", func(c *Config) { c.Raft = nil }},
		{"negative queue", func(c *Config) { c.QueueBytes = -1 }},
		{"negative timeout", func(c *Config) { c.WriteTimeout = -1 }},
		{"frame too small", func(c *Config) { c.MaxFrameSize = 100 }},
		{"frame too large", func(c *Config) { c.MaxFrameSize = 2 << 30 }},
		{"chunk over frame", func(c *Config) { c.MaxFrameSize = 64 << 10; c.SnapshotChunkSize = 128 << 10 }},
		{"reconnect bounds crossed", func(c *Config) { c.ReconnectMin = 2 * c.ReconnectMax }},
		{"negative snapshot size", func(c *Config) { c.MaxSnapshotSize = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			tr, err := New(c)
			if !errors.Is(err, ErrInvalidConfig) {
				if tr != nil {
					tr.Close()
				}
				t.Fatalf("got error %v, want one wrapping ErrInvalidConfig", err)
			}
		})
	}
	t.Run("defaults filled in", func(t *testing.T) {
		got, err := valid().validate()
		if err != nil {
			t.Fatalf("validate: %v", err)
		}
		if got.MaxFrameSize != defaultMaxFrameSize || got.QueueMessages != defaultQueueMessages ||
			got.SnapshotChunkSize != defaultSnapshotChunkSize || got.Logger == nil {
			t.Errorf("got %+v, want defaults filled in", got)
		}
	})
}

func TestPeerManagementErrors(t *testing.T) {
	n := startNode(t, testConfig(1), "127.0.0.1:0")
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"add zero ID", func() error { return n.tr.AddPeer(0, "127.0.0.1:1") }, ErrInvalidPeer},
		{"add self", func() error { return n.tr.AddPeer(1, "127.0.0.1:1") }, ErrInvalidPeer},
		{"add storage thread ID", func() error { return n.tr.AddPeer(^uint64(0), "127.0.0.1:1") }, ErrInvalidPeer},
		{"add without port", func() error { return n.tr.AddPeer(2, "127.0.0.1") }, ErrInvalidPeer},
		{"add", func() error { return n.tr.AddPeer(2, "127.0.0.1:1") }, nil},
		{"add twice", func() error { return n.tr.AddPeer(2, "127.0.0.1:2") }, ErrPeerExists},
		{"update unknown", func() error { return n.tr.UpdatePeer(3, "127.0.0.1:1") }, ErrPeerNotFound},
		{"update", func() error { return n.tr.UpdatePeer(2, "127.0.0.1:3") }, nil},
		{"remove unknown", func() error { return n.tr.RemovePeer(3) }, ErrPeerNotFound},
		{"remove", func() error { return n.tr.RemovePeer(2) }, nil},
		{"remove twice", func() error { return n.tr.RemovePeer(2) }, ErrPeerNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("after close", func(t *testing.T) {
		n.stop(t)
		for name, err := range map[string]error{
			"add":    n.tr.AddPeer(4, "127.0.0.1:1"),
			"update": n.tr.UpdatePeer(4, "127.0.0.1:1"),
			"remove": n.tr.RemovePeer(4),
		} {
			if err != ErrClosed {
				t.Errorf("%s: got %v, want %v", name, err, ErrClosed)
			}
		}
	})
}

func TestDeliversMessagesInOrderBothWays(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	b := startNode(t, testConfig(2), "127.0.0.1:0")
	link(t, a, b)

	const count = 500
	for _, dir := range []struct{ from, to *testNode }{{a, b}, {b, a}} {
		t.Run(fmt.Sprintf("%x to %x", dir.from.id, dir.to.id), func(t *testing.T) {
			var want []raftpb.Message
			for i := uint64(1); i <= count; i++ {
				want = append(want, appMsg(dir.from.id, dir.to.id, i, []byte(fmt.Sprintf("entry %d", i))))
			}
			// Hand them over as a host would: a few per Ready.
			for i := 0; i < count; i += 7 {
				dir.from.tr.Send(want[i:min(i+7, count)])
			}
			dir.to.host.waitFor(t, "all messages", func(r *recorder) bool { return len(r.msgs) >= count })
			if got := dir.to.host.received(); !reflect.DeepEqual(got, want) {
				t.Errorf("got %d messages, first %v; want %d, first %v", len(got), got[0], len(want), want[0])
			}
			// Sent is counted when the write returns, which may be after
			// the peer has read it.
			eventually(t, "the writes counted", func() bool {
				st, _ := peerStatus(dir.from, dir.to.id)
				return st.Sent == count
			})
			if st, _ := peerStatus(dir.from, dir.to.id); st.Dropped != 0 {
				t.Errorf("got Dropped=%d, want 0", st.Dropped)
			}
			if n := dir.from.host.unreachableCount(dir.to.id); n != 0 {
				t.Errorf("got %d unreachable reports, want 0", n)
			}
		})
	}
}

func TestSendToUnknownPeerReportsUnreachable(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	a.tr.Send([]raftpb.Message{appMsg(1, 9, 1, nil), {Type: raftpb.MsgSnap, From: 1, To: 9, Snapshot: &raftpb.Snapshot{}}})
	a.host.waitFor(t, "reports for peer 9", func(r *recorder) bool {
		return r.unreachable[9] > 0 && len(r.snapshots) > 0
	})
	if got, want := a.host.snapshotReports(), []snapReport{{9, 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got snapshot reports %v, want %v", got, want)
	}
}

func TestSendToDisconnectedPeerDropsAndReports(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	// Nothing listens on port 1 of the loopback address.
	if err := a.tr.AddPeer(2, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	a.tr.Send([]raftpb.Message{appMsg(1, 2, 1, nil), appMsg(1, 2, 2, nil)})
	a.host.waitFor(t, "unreachable report for 2", func(r *recorder) bool { return r.unreachable[2] > 0 })
	st, _ := peerStatus(a, 2)
	if st.Connected || st.Dropped != 2 || st.QueuedMessages != 0 {
		t.Errorf("got %+v, want not connected, 2 dropped, nothing queued", st)
	}
	eventually(t, "the failed dial logged", func() bool { return a.log.contains("cannot reach peer 2") })
}

func TestCloseStopsCallbacks(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	b := startNode(t, testConfig(2), "127.0.0.1:0")
	link(t, a, b)
	a.stop(t)
	before := a.host.unreachableCount(2)
	a.tr.Send([]raftpb.Message{appMsg(1, 2, 1, nil), appMsg(1, 9, 1, nil)})
	if err := a.tr.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if got := a.host.unreachableCount(2) + a.host.unreachableCount(9); got != before {
		t.Errorf("got %d reports after Close, want %d", got, before)
	}
	if got := len(b.host.received()); got != 0 {
		t.Errorf("peer received %d messages sent after Close, want 0", got)
	}
}
