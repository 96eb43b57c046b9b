package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quorate/raft/raftpb"
)

// outQueue is a peer's bounded queue of messages waiting for its writer.
// Producers (Send) push and then signal; the peer's writer drains the
// whole queue at once after each signal.
//
// Invariant: bytes is the sum of the sizes in items, len(items) <= maxMsgs
// and bytes <= maxBytes.
type outQueue struct {
	maxMsgs, maxBytes int
	// ready has room for one signal, so a writer that drains after every
	// signal misses nothing pushed before one.
	ready chan struct{}

	mu    sync.Mutex
	items []queued
	bytes int
}

// push queues m, whose encoded size is size, and reports whether it fit.
// It does not wake the writer: the caller signals once it has pushed all
// it has, so that what is handed over together is written together.
func (q *outQueue) push(m *raftpb.Message, size int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= q.maxMsgs || q.bytes+size > q.maxBytes {
		return false
	}
	q.items = append(q.items, queued{m: *m, size: size})
	q.bytes += size
	return true
}

// signal wakes the writer; it never blocks.
func (q *outQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// drain returns everything queued and empties the queue, which takes over
// spare (emptied) as its storage; passing the previous batch back as spare
// makes a steady stream allocate nothing.
func (q *outQueue) drain(spare []queued) []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.items
	q.items = spare[:0]
	q.bytes = 0
	return batch
}

// discard empties the queue and returns how many messages it held.
func (q *outQueue) discard() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items)
	clear(q.items)
	q.items = q.items[:0]
	q.bytes = 0
	return n
}

func (q *outQueue) size() (msgs, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.bytes
}

// peer is the sending side towards one remote node. It owns the outbound
// queue, the long-lived message stream (dialed and redialed by run) and
// the snapshot sends to that node.
type peer struct {
	t  *Transport
	id uint64
	// ctx ends when the peer is removed or the transport closed.
	ctx    context.Context
	cancel context.CancelFunc
	queue  outQueue
	// redial has room for one signal: a new address to dial at once.
	redial chan struct{}

	// up is true while conn is set: messages are queued only then.
	up atomic.Bool
	// warned is set once a drop has been logged on the current
	// connection (or outage), so an overload logs once, not per message.
	warned           atomic.Bool
	sent, dropped    atomic.Uint64
	sendingSnapshots atomic.Bool

	mu   sync.Mutex
	addr string
	// conn is the current message stream's TCP connection (beneath TLS,
	// if any), nil while down. Closing it ends the stream.
	conn net.Conn
}

func newPeer(t *Transport, id uint64, addr string) *peer {
	ctx, cancel := context.WithCancel(t.ctx)
	return &peer{
		t:      t,
		id:     id,
		ctx:    ctx,
		cancel: cancel,
		queue: outQueue{
			maxMsgs:  t.cfg.QueueMessages,
			maxBytes: t.cfg.QueueBytes,
			ready:    make(chan struct{}, 1),
		},
		redial: make(chan struct{}, 1),
		addr:   addr,
	}
}

func (p *peer) address() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// setAddress switches the peer to addr, closing the stream to the old one.
func (p *peer) setAddress(addr string) {
	p.mu.Lock()
	if p.addr == addr {
		p.mu.Unlock()
		return
	}
	old := p.addr
	p.addr = addr
	if p.conn != nil {
		// NB: down from now on, not when the writer notices the close, so
		// that nothing is queued for (and Connected does not describe)
		// the stream being torn down.
		p.up.Store(false)
		p.conn.Close()
	}
	p.mu.Unlock()
	p.t.log.Infof("transport %x: peer %x moved from %s to %s", p.t.cfg.ID, p.id, old, addr)
	select {
	case p.redial <- struct{}{}:
	default:
	}
}

// stop ends the peer's goroutines; they exit on their own.
func (p *peer) stop() {
	p.cancel()
	p.mu.Lock()
	if p.conn != nil {
		p.conn.Close()
	}
	p.mu.Unlock()
}

func (p *peer) status() PeerStatus {
	msgs, bytes := p.queue.size()
	return PeerStatus{
		ID:              p.id,
		Addr:            p.address(),
		Connected:       p.up.Load(),
		QueuedMessages:  msgs,
		QueuedBytes:     bytes,
		Sent:            p.sent.Load(),
		Dropped:         p.dropped.Load(),
		SendingSnapshot: p.sendingSnapshots.Load(),
	}
}

// maxUvarintLen64 is the longest length prefix of a message in a frame.
const maxUvarintLen64 = 10

// enqueue queues m for the writer and reports whether it did; otherwise
// it drops m with a report. The caller must signal the queue afterwards.
func (p *peer) enqueue(m *raftpb.Message) bool {
	size := m.Size()
	switch {
	case size+maxUvarintLen64 > p.t.cfg.MaxFrameSize:
		// Not rate-limited: this is a configuration error the host must see.
		p.t.log.Errorf("transport %x: dropping %v of %d bytes to %x: larger than MaxFrameSize %d",
			p.t.cfg.ID, m.Type, size, p.id, p.t.cfg.MaxFrameSize)
		p.drop(1)
	case !p.up.Load():
		p.dropWithWarning(1, "not connected")
	case !p.queue.push(m, size):
		p.dropWithWarning(1, "outbound queue full")
	default:
		return true
	}
	return false
}

func (p *peer) dropWithWarning(n int, why string) {
	if !p.warned.Swap(true) {
		p.t.log.Warningf("transport %x: dropping messages to %x: %s", p.t.cfg.ID, p.id, why)
	}
	p.drop(n)
}

// drop counts n messages as lost and tells raft the peer is unreachable.
func (p *peer) drop(n int) {
	p.dropped.Add(uint64(n))
	p.t.reporter.reportUnreachable(p.id)
}

// run keeps a message stream to the peer open until the peer is stopped:
// it dials, streams until the connection fails, and dials again after a
// pause from the backoff.
func (p *peer) run() {
	defer p.t.wg.Done()
	b := backoff{min: p.t.cfg.ReconnectMin, max: p.t.cfg.ReconnectMax}
	failures := 0
	for p.ctx.Err() == nil {
		addr := p.address()
		c, err := p.t.dial(p.ctx, addr, p.id, streamMessages)
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 {
				p.t.log.Warningf("transport %x: cannot reach peer %x at %s (will retry): %v", p.t.cfg.ID, p.id, addr, err)
			} else {
				p.t.log.Debugf("transport %x: attempt %d to reach peer %x at %s: %v", p.t.cfg.ID, failures, p.id, addr, err)
			}
			p.pause(&b)
			continue
		}
		if !p.connected(c.raw, addr) {
			c.raw.Close() // the address changed while dialing
			continue
		}
		p.t.log.Infof("transport %x: connected to peer %x at %s", p.t.cfg.ID, p.id, addr)
		failures = 0
		start := time.Now()
		err = p.stream(c)
		p.disconnected()
		if p.ctx.Err() != nil {
			return
		}
		p.t.log.Warningf("transport %x: lost stream to peer %x at %s: %v", p.t.cfg.ID, p.id, addr, err)
		// NB: the backoff starts over only after a stream that lived a
		// while, so a peer that accepts and then drops every connection
		// is redialed ever more slowly, not in a tight loop.
		if time.Since(start) >= p.t.cfg.ReconnectMax {
			b.reset()
		}
		p.pause(&b)
	}
}

// pause waits out the next backoff step, cut short by a new address.
func (p *peer) pause(b *backoff) {
	timer := time.NewTimer(b.next())
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-p.redial:
		b.reset()
	case <-p.ctx.Done():
	}
}

// connected installs conn as the peer's stream, unless the peer's address
// is no longer addr or the peer was stopped.
func (p *peer) connected(conn net.Conn, addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.addr != addr || p.ctx.Err() != nil {
		return false
	}
	p.conn = conn
	p.warned.Store(false)
	p.up.Store(true)
	return true
}

// disconnected tears the stream down and drops what was queued for it.
// Raft is told the peer is unreachable (the last batch may have been lost
// in flight even when nothing was queued), unless the peer was stopped.
func (p *peer) disconnected() {
	p.mu.Lock()
	p.up.Store(false)
	conn := p.conn
	p.conn = nil
	p.mu.Unlock()
	conn.Close()
	n := p.queue.discard()
	if p.ctx.Err() != nil {
		return
	}
	p.warned.Store(false)
	p.drop(n)
}

// stream writes queued messages to c until the connection fails or the
// peer is stopped. Everything queued when the writer wakes goes out in one
// write, as back-to-back frames.
func (p *peer) stream(c *clientConn) error {
	watch := make(chan error, 1)
	p.t.wg.Add(1) // NB: safe, run is itself counted in wg
	go func() {
		defer p.t.wg.Done()
		watch <- watchStream(c)
	}()
	enc := batchEncoder{maxPayload: min(frameTarget, p.t.cfg.MaxFrameSize)}
	var batch []queued
	for {
		select {
		case <-p.queue.ready:
		case err := <-watch:
			return err
		case <-p.ctx.Done():
			return p.ctx.Err()
		}
		batch = p.queue.drain(batch)
		err := p.writeBatch(c.conn, &enc, batch)
		clear(batch) // the messages are no longer ours to keep alive
		batch = batch[:0]
		if err != nil {
			return err
		}
	}
}

// Batching targets. Frames of about frameTarget let the receiver decode
// one while the next is on the wire; writes of about writeTarget carry
// many frames while keeping the encoding buffer small.
const (
	frameTarget = 256 << 10
	writeTarget = 1 << 20
)

// writeBatch writes batch to conn in writes of about writeTarget bytes.
// On an error, the messages not written are counted as dropped.
func (p *peer) writeBatch(conn net.Conn, enc *batchEncoder, batch []queued) error {
	for i := 0; i < len(batch); {
		j, bytes := i+1, batch[i].size
		for j < len(batch) && bytes+batch[j].size <= writeTarget {
			bytes += batch[j].size
			j++
		}
		conn.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
		_, err := conn.Write(enc.encode(batch[i:j]))
		enc.release()
		if err != nil {
			p.dropped.Add(uint64(len(batch) - i))
			return fmt.Errorf("writing %d messages: %w", j-i, err)
		}
		p.sent.Add(uint64(j - i))
		i = j
	}
	return nil
}

// watchStream waits for the far end of a message stream to speak, which
// it does only to say why it is closing, or to close, and returns why.
func watchStream(c *clientConn) error {
	f, err := c.reader.next()
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("peer closed the connection")
	case err != nil:
		return err
	case f.kind == kindReject:
		return fmt.Errorf("peer closed the stream: %q", f.payload)
	}
	return fmt.Errorf("unexpected %s frame on an outgoing message stream", f.kind)
}
