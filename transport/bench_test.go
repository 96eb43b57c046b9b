package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// Throughput over loopback, the transport against a raw TCP connection
// carrying the same bytes. Both sides send batches of benchBatch messages
// (as a Ready would hand them over) and keep at most benchWindow messages
// in flight, so that the transport's queue never overflows and nothing is
// dropped. Compare MB/s of the two at the same size:
//
//	go test -run '^$' -bench Loopback -benchmem ./transport/
const (
	benchBatch  = 64
	benchWindow = 2048
)

// counter is a Raft that counts what it is handed and signals progress.
type counter struct {
	n        atomic.Int64
	progress chan struct{}
	reports  chan raft.SnapshotStatus
}

func newCounter() *counter {
	return &counter{progress: make(chan struct{}, 1), reports: make(chan raft.SnapshotStatus, 1)}
}

func (c *counter) add(k int64) {
	c.n.Add(k)
	select {
	case c.progress <- struct{}{}:
	default:
	}
}

func (c *counter) Step(context.Context, raftpb.Message) error { c.add(1); return nil }
func (c *counter) ReportUnreachable(uint64)                   {}
func (c *counter) ReportSnapshot(_ uint64, s raft.SnapshotStatus) {
	c.reports <- s
}

// waitBelow blocks until fewer than window of sent messages are unreceived.
func (c *counter) waitBelow(sent, window int64) {
	for sent-c.n.Load() >= window {
		<-c.progress
	}
}

var benchSizes = []int{32, 1 << 10, 16 << 10}

func BenchmarkLoopback(b *testing.B) {
	for _, size := range benchSizes {
		m := appMsg(1, 2, 1, make([]byte, size))
		b.Run(fmt.Sprintf("transport/payload=%d", size), func(b *testing.B) { benchTransport(b, m) })
		b.Run(fmt.Sprintf("rawtcp/payload=%d", size), func(b *testing.B) { benchRawTCP(b, m) })
	}
}

func benchTransport(b *testing.B, m raftpb.Message) {
	recv := newCounter()
	a := startBenchNode(b, 1, newCounter())
	dst := startBenchNode(b, 2, recv)
	if err := a.AddPeer(2, dst.addr); err != nil {
		b.Fatal(err)
	}
	if err := dst.AddPeer(1, "127.0.0.1:1"); err != nil {
		b.Fatal(err)
	}
	waitUp(b, a.Transport, 2)
	batch := make([]raftpb.Message, benchBatch)
	for i := range batch {
		batch[i] = m
	}
	pump(b, m, recv, func(k int) { a.Send(batch[:k]) })
	if st := a.Peers()[0]; st.Dropped != 0 {
		b.Fatalf("got %d messages dropped, want none", st.Dropped)
	}
}

// pump sends b.N copies of m in batches through send, keeping at most
// benchWindow unreceived, and reports the rate once recv has them all.
func pump(b *testing.B, m raftpb.Message, recv *counter, send func(k int)) {
	b.SetBytes(int64(m.Size()))
	b.ResetTimer()
	sent := int64(0)
	for sent < int64(b.N) {
		k := min(benchBatch, int64(b.N)-sent)
		recv.waitBelow(sent, benchWindow)
		send(int(k))
		sent += k
	}
	recv.waitBelow(sent, 1)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

type benchNode struct {
	*Transport
	addr string
}

func startBenchNode(b *testing.B, id uint64, r Raft) benchNode {
	tr, err := New(Config{ID: id, ClusterID: 0xbe, Raft: r, Logger: &logRecorder{}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go tr.Serve(ln)
	b.Cleanup(func() { tr.Close() })
	return benchNode{Transport: tr, addr: ln.Addr().String()}
}

// waitUp polls until the stream to peer id is up; benchmarks run it
// before the timer starts.
func waitUp(b *testing.B, tr *Transport, id uint64) {
	deadline := time.Now().Add(waitLimit)
	for !tr.Peers()[0].Connected {
		if time.Now().After(deadline) {
			b.Fatalf("no stream to %x after %v", id, waitLimit)
		}
		time.Sleep(time.Millisecond)
	}
}

// benchRawTCP writes the same message encodings, length-prefixed and
// batched the same way, to a plain TCP connection whose reader only splits
// the records and counts them.
func benchRawTCP(b *testing.B, m raftpb.Message) {
	body, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	record := binary.AppendUvarint(nil, uint64(len(body)))
	record = append(record, body...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	recv := newCounter()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		r := bufio.NewReaderSize(c, readBufferSize)
		for {
			n, err := binary.ReadUvarint(r)
			if err == nil {
				_, err = r.Discard(int(n))
			}
			if err == io.EOF {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			recv.add(1)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	pump(b, m, recv, func(k int) {
		buf = buf[:0]
		for range k {
			buf = append(buf, record...)
		}
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	})
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSnapshot sends snapshots between two transports in one process.
// With -benchmem, B/op shows what a send costs in memory: about one copy
// of the data (the receiver's), none on the sender's side.
func BenchmarkSnapshot(b *testing.B) {
	const size = 16 << 20
	send, recv := newCounter(), newCounter()
	a := startBenchNode(b, 1, send)
	dst := startBenchNode(b, 2, recv)
	a.AddPeer(2, dst.addr)
	dst.AddPeer(1, "127.0.0.1:1")
	snap := raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Snapshot: &raftpb.Snapshot{
		Data: make([]byte, size), Metadata: raftpb.SnapshotMetadata{Index: 1, Term: 1},
	}}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		a.Send([]raftpb.Message{snap})
		if s := <-send.reports; s != raft.SnapshotFinish {
			b.Fatalf("got snapshot status %v, want finish", s)
		}
	}
}
