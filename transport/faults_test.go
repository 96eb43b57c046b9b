package transport

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/quorate/raft/raftpb"
)

// rawDial opens a plain TCP connection to addr whose every operation
// fails after waitLimit.
func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(waitLimit))
	t.Cleanup(func() { c.Close() })
	return c
}

// rawHello sends h on c and returns the answer frame.
func rawHello(t *testing.T, c net.Conn, h hello) frame {
	t.Helper()
	if _, err := c.Write(appendFrame(nil, kindHello, 0, h.appendTo(nil))); err != nil {
		t.Fatalf("write hello: %v", err)
	}
	f, err := newFrameReader(c, 1<<16).next()
	if err != nil {
		t.Fatalf("read answer to hello: %v", err)
	}
	return f
}

// expectClosed checks that the far end closes c, reading and discarding
// what comes first.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", waitLimit)
	}
}

// messagesFrame encodes msgs as one messages frame.
func messagesFrame(msgs ...raftpb.Message) []byte {
	batch := make([]queued, len(msgs))
	for i := range msgs {
		batch[i] = queued{m: msgs[i], size: msgs[i].Size()}
	}
	enc := batchEncoder{maxPayload: 1 << 20}
	return bytes.Clone(enc.encode(batch))
}

func TestRefusesBadHandshakes(t *testing.T) {
	good := hello{clusterID: 0xc1, from: 1, to: 2, stream: streamMessages}
	tests := []struct {
		name   string
		send   []byte
		reason string // in the reject frame, if one is expected, and the log
	}{
		{"another cluster", appendFrame(nil, kindHello, 0, hello{0xbad, 1, 2, streamMessages}.appendTo(nil)), "cluster bad"},
		{"unknown sender", appendFrame(nil, kindHello, 0, hello{0xc1, 9, 2, streamMessages}.appendTo(nil)), "unknown sender 9"},
		{"meant for another node", appendFrame(nil, kindHello, 0, hello{0xc1, 1, 3, streamMessages}.appendTo(nil)), "meant to reach node 3"},
		{"another group", appendFrame(nil, kindHello, 7, good.appendTo(nil)), "group 7"},
		{"unknown stream", appendFrame(nil, kindHello, 0, hello{0xc1, 1, 2, 9}.appendTo(nil)), "unknown stream kind"},
		{"messages before hello", messagesFrame(appMsg(1, 2, 1, nil)), ""},
		{"garbage", []byte("GET /raft HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), ""},
		{"oversized hello", func() []byte {
			b := appendFrame(nil, kindHello, 0, good.appendTo(nil))
			b[12] = 0x10 // 256 MiB
			return b
		}(), ""},
		{"silence", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(2)
			cfg.HandshakeTimeout = 500 * time.Millisecond
			b := startNode(t, cfg, "127.0.0.1:0")
			if err := b.tr.AddPeer(1, "127.0.0.1:1"); err != nil {
				t.Fatal(err)
			}
			c := rawDial(t, b.addr)
			c.Write(tt.send)
			// A valid batch right after the hello must not be stepped.
			c.Write(messagesFrame(appMsg(1, 2, 1, nil)))
			if tt.reason != "" {
				f, err := newFrameReader(c, 1<<16).next()
				if err != nil || f.kind != kindReject || !bytes.Contains(f.payload, []byte(tt.reason)) {
					t.Errorf("got %s frame %q (error %v), want a reject saying %q", f.kind, f.payload, err, tt.reason)
				}
			}
			expectClosed(t, c)
			eventually(t, "the refusal logged", func() bool { return b.log.contains("refused connection", tt.reason) })
			if got := b.host.received(); len(got) != 0 {
				t.Errorf("got %d messages stepped, want 0", len(got))
			}
		})
	}
}

func TestPeersOfAnotherClusterNeverConnect(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	other := testConfig(2)
	other.ClusterID = 0xc2
	b := startNode(t, other, "127.0.0.1:0")
	a.tr.AddPeer(2, b.addr)
	b.tr.AddPeer(1, a.addr)
	for _, n := range []*testNode{a, b} {
		eventually(t, fmt.Sprintf("node %x logging the refusal", n.id), func() bool {
			return n.log.contains("refused connection", "is in cluster") && n.log.contains("cannot reach peer", "refused by")
		})
	}
	a.tr.Send([]raftpb.Message{appMsg(1, 2, 1, nil)})
	a.host.waitFor(t, "unreachable report", func(r *recorder) bool { return r.unreachable[2] > 0 })
	for _, n := range []*testNode{a, b} {
		if st := n.tr.Peers()[0]; st.Connected {
			t.Errorf("node %x: got connected to %x, want not", n.id, st.ID)
		}
		if got := n.host.received(); len(got) != 0 {
			t.Errorf("node %x: got %d messages stepped, want 0", n.id, len(got))
		}
	}
}

func TestClosesStreamOnBadFrames(t *testing.T) {
	const maxFrame = 64 << 10
	valid := appMsg(1, 2, 1, []byte("valid"))
	corrupt := func(b []byte) []byte { b[len(b)-1] ^= 1; return b }
	oversized := appendFrame(nil, kindMessages, 0, nil)
	oversized[12], oversized[13] = 0x00, 0x02 // 128 KiB
	tests := []struct {
		name   string
		send   []byte
		reason string
	}{
		{"oversized frame", oversized, "larger than the limit"},
		{"garbage", []byte("\x00\xffthis is not a frame, it is noise............"), "unsupported frame version"},
		{"bad checksum", corrupt(messagesFrame(appMsg(1, 2, 2, nil))), "checksum mismatch"},
		{"forged sender", messagesFrame(appMsg(3, 2, 2, nil)), "claims to come from 3"},
		{"misaddressed", messagesFrame(appMsg(1, 5, 2, nil)), "addressed to 5"},
		{"local message type", messagesFrame(raftpb.Message{Type: raftpb.MsgHup, From: 1, To: 2}), "local message type"},
		{"snapshot on message stream", messagesFrame(raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Snapshot: &raftpb.Snapshot{}}), "MsgSnap"},
		{"bad message in batch", appendFrame(nil, kindMessages, 0, []byte{3, 0xff, 0xff, 0xff}), "malformed"},
		{"another group", func() []byte {
			f := messagesFrame(appMsg(1, 2, 2, nil))
			putHeader(f, kindMessages, 4, f[headerSize:])
			return f
		}(), "group 4"},
		{"wrong frame kind", appendFrame(nil, kindSnapAck, 0, nil), "unexpected snapshot-ack frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(2)
			cfg.MaxFrameSize = maxFrame
			b := startNode(t, cfg, "127.0.0.1:0")
			b.tr.AddPeer(1, "127.0.0.1:1")
			c := rawDial(t, b.addr)
			if f := rawHello(t, c, hello{0xc1, 1, 2, streamMessages}); f.kind != kindAccept {
				t.Fatalf("got %s answer to hello, want accept", f.kind)
			}
			c.Write(messagesFrame(valid))
			c.Write(tt.send)
			// A valid batch after the bad frame must not be stepped.
			c.Write(messagesFrame(appMsg(1, 2, 3, nil)))
			expectClosed(t, c)
			eventually(t, "the reason logged", func() bool { return b.log.contains("closing message stream from peer 1", tt.reason) })
			if got := b.host.received(); !reflect.DeepEqual(got, []raftpb.Message{valid}) {
				t.Errorf("got %v stepped, want only %v", got, valid)
			}
		})
	}
}

func TestStreamCutMidFrame(t *testing.T) {
	b := startNode(t, testConfig(2), "127.0.0.1:0")
	b.tr.AddPeer(1, "127.0.0.1:1")
	c := rawDial(t, b.addr)
	rawHello(t, c, hello{0xc1, 1, 2, streamMessages})
	whole := []raftpb.Message{appMsg(1, 2, 1, []byte("a")), appMsg(1, 2, 2, []byte("b"))}
	c.Write(messagesFrame(whole...))
	cut := messagesFrame(appMsg(1, 2, 3, []byte("c")), appMsg(1, 2, 4, []byte("d")))
	c.Write(cut[:len(cut)/2])
	c.Close()
	eventually(t, "the cut logged", func() bool { return b.log.contains("stream ended inside a frame") })
	if got := b.host.received(); !reflect.DeepEqual(got, whole) {
		t.Errorf("got %v stepped, want %v", got, whole)
	}
}

// cuttingProxy forwards connections to target, and cuts the first one
// after it has carried limit bytes towards the target.
type cuttingProxy struct {
	ln     net.Listener
	target string
	limit  int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	cut    chan struct{} // closed once the first connection was cut
}

func startCuttingProxy(t *testing.T, target string, limit int64) *cuttingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln, target: target, limit: limit, cut: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *cuttingProxy) accept() {
	defer p.wg.Done()
	for first := true; ; first = false {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			io.Copy(in, out)
			in.Close()
		}()
		go func(cutThis bool) {
			defer p.wg.Done()
			if cutThis {
				io.CopyN(out, in, p.limit)
				in.Close()
				out.Close()
				close(p.cut)
				return
			}
			io.Copy(out, in)
			out.Close()
		}(first)
	}
}

func TestSenderRecoversFromConnectionCutMidFrame(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	b := startNode(t, testConfig(2), "127.0.0.1:0")
	// The hello and accept take 45 bytes; the cut lands inside the batch.
	proxy := startCuttingProxy(t, b.addr, headerSize+helloSize+1000)
	// NB: b knows 1 before 1 dials, so that the first connection through
	// the proxy - the one it cuts - is not refused as from an unknown
	// sender (the cut would then happen before anything is sent).
	b.tr.AddPeer(1, a.addr)
	a.tr.AddPeer(2, proxy.ln.Addr().String())
	waitConnected(t, a, 2)

	var sent []raftpb.Message
	for i := uint64(1); i <= 50; i++ {
		sent = append(sent, appMsg(1, 2, i, bytes.Repeat([]byte{'x'}, 100)))
	}
	a.tr.Send(sent)
	select {
	case <-proxy.cut:
	case <-time.After(waitLimit):
		t.Fatal("the proxy never cut the connection")
	}
	a.host.waitFor(t, "unreachable report", func(r *recorder) bool { return r.unreachable[2] > 0 })
	eventually(t, "a new stream through the proxy", func() bool {
		st, _ := peerStatus(a, 2)
		return st.Connected
	})
	after := appMsg(1, 2, 51, []byte("after the cut"))
	a.tr.Send([]raftpb.Message{after})
	b.host.waitFor(t, "the message sent after the cut", func(r *recorder) bool {
		return len(r.msgs) > 0 && r.msgs[len(r.msgs)-1].Index == after.Index
	})
	got := b.host.received()
	// Whole frames before the cut may have arrived, and messages queued
	// just as the new stream came up after it; nothing torn may have, and
	// nothing twice or out of order.
	next := 0
	for _, m := range got[:len(got)-1] {
		for next < len(sent) && sent[next].Index < m.Index {
			next++
		}
		if next == len(sent) || !reflect.DeepEqual(m, sent[next]) {
			t.Fatalf("got %v, want one of the messages sent, in order, once", m)
		}
		next++
	}
	if len(got)-1 >= len(sent) {
		t.Errorf("got all %d messages before the cut, want the cut to lose some", len(got)-1)
	}
	if !reflect.DeepEqual(got[len(got)-1], after) {
		t.Errorf("got %v last, want %v", got[len(got)-1], after)
	}
	eventually(t, "the cut logged on both sides", func() bool {
		return b.log.contains("stream ended inside a frame") && a.log.contains("lost stream to peer 2")
	})
}

// stalledPeer accepts message streams as node 2 of cluster 0xc1 and then
// never reads from them.
type stalledPeer struct {
	ln       net.Listener
	mu       sync.Mutex
	accepted []net.Conn
}

func startStalledPeer(t *testing.T) *stalledPeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stalledPeer{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(waitLimit))
			if _, err := newFrameReader(c, 1<<10).next(); err != nil {
				c.Close()
				continue
			}
			c.Write(appendFrame(nil, kindAccept, 0, accept{clusterID: 0xc1, id: 2}.appendTo(nil)))
			s.mu.Lock()
			s.accepted = append(s.accepted, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.accepted {
			c.Close()
		}
	})
	return s
}

func (s *stalledPeer) acceptedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

func TestPeerThatStopsReading(t *testing.T) {
	cfg := testConfig(1)
	cfg.QueueBytes = 256 << 10
	cfg.QueueMessages = 64
	cfg.WriteTimeout = time.Second
	a := startNode(t, cfg, "127.0.0.1:0")
	peer := startStalledPeer(t)
	a.tr.AddPeer(2, peer.ln.Addr().String())
	waitConnected(t, a, 2)

	// 64 KiB messages, sent until the stream is given up: far more than
	// the socket buffers and the queue hold.
	payload := make([]byte, 64<<10)
	rand.Read(payload)
	stop := make(chan struct{})
	sendDone := make(chan error, 1)
	var total uint64
	go func() {
		for i := uint64(1); ; i++ {
			select {
			case <-stop:
				total = i - 1
				sendDone <- nil
				return
			default:
			}
			a.tr.Send([]raftpb.Message{appMsg(1, 2, i, payload)})
			if st, _ := peerStatus(a, 2); st.QueuedBytes > cfg.QueueBytes || st.QueuedMessages > cfg.QueueMessages {
				sendDone <- fmt.Errorf("after message %d: queue holds %d messages, %d bytes; limits %d, %d",
					i, st.QueuedMessages, st.QueuedBytes, cfg.QueueMessages, cfg.QueueBytes)
				return
			}
		}
	}()
	// The blocked write times out, the stream is given up and redialed.
	// Had Send blocked, the sender would not be ready to stop.
	eventually(t, "a redial after the write timeout", func() bool {
		return a.log.contains("lost stream to peer 2") && peer.acceptedCount() >= 2
	})
	close(stop)
	select {
	case err := <-sendDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Send blocked on a peer that does not read")
	}
	a.host.waitFor(t, "unreachable report", func(r *recorder) bool { return r.unreachable[2] > 0 })
	if !a.log.contains("dropping messages to 2") {
		t.Errorf("got no warning about dropped messages, want one")
	}
	// Every message ends up written to a socket or dropped.
	eventually(t, "every message accounted for", func() bool {
		st, _ := peerStatus(a, 2)
		return st.Dropped+st.Sent == total
	})
	if st, _ := peerStatus(a, 2); st.Dropped == 0 {
		t.Errorf("got %+v, want messages dropped", st)
	}
}

func TestPeerRestart(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	b := startNode(t, testConfig(2), "127.0.0.1:0")
	link(t, a, b)
	a.tr.Send([]raftpb.Message{appMsg(1, 2, 1, nil)})
	b.host.waitFor(t, "the first message", func(r *recorder) bool { return len(r.msgs) == 1 })

	b.stop(t)
	eventually(t, "node 1 noticing the peer is gone", func() bool {
		st, _ := peerStatus(a, 2)
		return !st.Connected
	})
	a.tr.Send([]raftpb.Message{appMsg(1, 2, 2, nil)})
	a.host.waitFor(t, "unreachable report", func(r *recorder) bool { return r.unreachable[2] > 0 })

	// The same node comes back on the same address.
	b2 := startNode(t, testConfig(2), b.addr)
	b2.tr.AddPeer(1, a.addr)
	waitConnected(t, a, 2)
	waitConnected(t, b2, 1)
	a.tr.Send([]raftpb.Message{appMsg(1, 2, 3, nil)})
	b2.tr.Send([]raftpb.Message{appMsg(2, 1, 1, nil)})
	b2.host.waitFor(t, "a message after the restart", func(r *recorder) bool { return len(r.msgs) == 1 })
	a.host.waitFor(t, "a message from the restarted peer", func(r *recorder) bool { return len(r.msgs) == 1 })
	if got := b2.host.received()[0].Index; got != 2 { // appMsg(…, 3, …) has Index 2
		t.Errorf("got message with Index %d, want 2", got)
	}
}

func TestUpdatePeerMovesToTheNewAddress(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	old := startNode(t, testConfig(2), "127.0.0.1:0")
	link(t, a, old)
	moved := startNode(t, testConfig(2), "127.0.0.1:0")
	moved.tr.AddPeer(1, a.addr)
	if err := a.tr.UpdatePeer(2, moved.addr); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a stream to the new address", func() bool {
		st, _ := peerStatus(a, 2)
		return st.Connected && st.Addr == moved.addr
	})
	a.tr.Send([]raftpb.Message{appMsg(1, 2, 1, nil)})
	moved.host.waitFor(t, "the message at the new address", func(r *recorder) bool { return len(r.msgs) == 1 })
	if got := len(old.host.received()); got != 0 {
		t.Errorf("old address got %d messages, want 0", got)
	}
}

func TestRemovedPeerIsRefused(t *testing.T) {
	a := startNode(t, testConfig(1), "127.0.0.1:0")
	b := startNode(t, testConfig(2), "127.0.0.1:0")
	link(t, a, b)
	if err := b.tr.RemovePeer(1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node 1's redial refused", func() bool {
		return a.log.contains("refused by", "unknown sender 1")
	})
	a.tr.Send([]raftpb.Message{appMsg(1, 2, 1, nil)})
	a.host.waitFor(t, "unreachable report", func(r *recorder) bool { return r.unreachable[2] > 0 })
	if got := len(b.host.received()); got != 0 {
		t.Errorf("got %d messages from a removed peer stepped, want 0", got)
	}
}

func TestNewStreamFromSenderReplacesTheOld(t *testing.T) {
	b := startNode(t, testConfig(2), "127.0.0.1:0")
	b.tr.AddPeer(1, "127.0.0.1:1")
	first := rawDial(t, b.addr)
	rawHello(t, first, hello{0xc1, 1, 2, streamMessages})
	second := rawDial(t, b.addr)
	rawHello(t, second, hello{0xc1, 1, 2, streamMessages})
	expectClosed(t, first)
	eventually(t, "the replacement logged", func() bool { return b.log.contains("newer message stream from peer 1") })
	m := appMsg(1, 2, 1, nil)
	second.Write(messagesFrame(m))
	b.host.waitFor(t, "the message on the new stream", func(r *recorder) bool { return len(r.msgs) == 1 })
}
