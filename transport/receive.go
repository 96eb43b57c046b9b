package transport

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// readBufferSize is the buffer between an accepted connection and its
// frame reader; frames larger than it are read straight into their
// destination.
const readBufferSize = 64 << 10

// Serve accepts peers' connections on ln until Close, and then returns
// ErrClosed; it returns any other error that ends ln (after closing ln). It
// may be called for several listeners. Serve owns ln: Close closes it.
//
// Every connection must open with a valid hello from a known peer of the
// same cluster addressed to this node (and, with Config.ServerTLS, a TLS
// handshake first); anything else closes it with a logged reason.
func (t *Transport) Serve(ln net.Listener) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	t.listeners[ln] = struct{}{}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.listeners, ln)
		t.mu.Unlock()
		ln.Close()
	}()

	var pause time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil {
				return ErrClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Running out of file descriptors and the like pass; pause
			// instead of spinning, as net/http's server does.
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			t.log.Warningf("transport %x: accept on %s: %v; retrying in %v", t.cfg.ID, ln.Addr(), err, pause)
			select {
			case <-time.After(pause):
			case <-t.ctx.Done():
				return ErrClosed
			}
			continue
		}
		pause = 0
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			conn.Close()
			return ErrClosed
		}
		t.inbound[conn] = 0
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serveConn(conn)
	}
}

// serveConn runs one accepted connection: handshake, then the stream its
// hello asked for. Whatever goes wrong ends up logged, with the connection
// closed.
func (t *Transport) serveConn(raw net.Conn) {
	defer t.wg.Done()
	defer func() {
		raw.Close()
		t.mu.Lock()
		if from := t.inbound[raw]; from != 0 && t.streams[from] == raw {
			delete(t.streams, from)
		}
		delete(t.inbound, raw)
		t.mu.Unlock()
	}()
	remote := raw.RemoteAddr()
	conn, fr, h, err := t.acceptHandshake(raw)
	if err != nil {
		t.log.Warningf("transport %x: refused connection from %s: %v", t.cfg.ID, remote, err)
		return
	}
	switch h.stream {
	case streamMessages:
		err = t.receiveMessages(fr, h.from)
	case streamSnapshot:
		err = t.receiveSnapshot(conn, fr, h.from)
	}
	switch {
	case err == nil, t.ctx.Err() != nil:
	case t.replaced(raw, h):
		t.log.Infof("transport %x: a newer message stream from peer %x replaced the one from %s", t.cfg.ID, h.from, remote)
	case errors.Is(err, io.EOF):
		t.log.Infof("transport %x: peer %x closed its %s stream from %s", t.cfg.ID, h.from, h.stream, remote)
	default:
		t.log.Warningf("transport %x: closing %s stream from peer %x at %s: %v", t.cfg.ID, h.stream, h.from, remote, err)
	}
}

// acceptHandshake runs the accepting side of the handshake on raw within
// HandshakeTimeout: TLS if configured, then the hello, checked. A refused
// hello is answered with a reject frame giving the reason. On success the
// connection is registered under the sender and has no deadline set.
func (t *Transport) acceptHandshake(raw net.Conn) (net.Conn, *frameReader, hello, error) {
	conn := raw
	conn.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	if t.cfg.ServerTLS != nil {
		tc := tls.Server(raw, t.cfg.ServerTLS)
		if err := tc.HandshakeContext(t.ctx); err != nil {
			return nil, nil, hello{}, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	fr := newFrameReader(bufio.NewReaderSize(conn, readBufferSize), t.cfg.MaxFrameSize)
	f, err := fr.next()
	if err != nil {
		return nil, nil, hello{}, fmt.Errorf("no valid hello: %w", err)
	}
	if f.kind != kindHello {
		return nil, nil, hello{}, fmt.Errorf("first frame is %s, want hello", f.kind)
	}
	h, err := parseHello(f.payload)
	if err == nil {
		err = t.checkHello(h, f.group)
	}
	if err == nil {
		err = t.register(raw, h)
	}
	if err != nil {
		// Best effort: the reason helps whoever reads the dialer's log.
		conn.Write(appendFrame(nil, kindReject, 0, rejectPayload(err.Error())))
		return nil, nil, hello{}, err
	}
	a := accept{clusterID: t.cfg.ClusterID, id: t.cfg.ID}
	if _, err := conn.Write(appendFrame(nil, kindAccept, 0, a.appendTo(nil))); err != nil {
		return nil, nil, hello{}, fmt.Errorf("answering hello from %x: %w", h.from, err)
	}
	conn.SetDeadline(time.Time{})
	return conn, fr, h, nil
}

// checkHello says why a hello must be refused, or returns nil.
func (t *Transport) checkHello(h hello, group uint64) error {
	switch {
	case h.clusterID != t.cfg.ClusterID:
		return fmt.Errorf("node %x is in cluster %x, this is cluster %x", h.from, h.clusterID, t.cfg.ClusterID)
	case h.to != t.cfg.ID:
		return fmt.Errorf("node %x meant to reach node %x, this is node %x", h.from, h.to, t.cfg.ID)
	case group != 0:
		return fmt.Errorf("node %x asked for raft group %d, only group 0 is served", h.from, group)
	}
	return nil
}

// register records raw as a stream from h.from, which must be a current
// peer. A new message stream from a sender replaces (closes) its previous
// one, which a restarted or reconnected peer has abandoned.
func (t *Transport) register(raw net.Conn, h hello) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.peers[h.from] == nil {
		return fmt.Errorf("unknown sender %x", h.from)
	}
	t.inbound[raw] = h.from
	if h.stream == streamMessages {
		if old := t.streams[h.from]; old != nil {
			old.Close()
		}
		t.streams[h.from] = raw
	}
	return nil
}

// replaced reports whether raw, a stream from h.from, has been closed
// because the peer opened a newer one.
func (t *Transport) replaced(raw net.Conn, h hello) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	cur := t.streams[h.from]
	return h.stream == streamMessages && cur != nil && cur != raw
}

// checkMessage refuses a message that the stream of peer from may not
// carry: one claiming another sender, addressed to another node, or of a
// type that never crosses the network. Raft would refuse some of these
// itself; refusing them here closes the connection that carried them.
func (t *Transport) checkMessage(m *raftpb.Message, from uint64) error {
	switch {
	case m.From != from:
		return fmt.Errorf("%v claims to come from %x on the stream of %x", m.Type, m.From, from)
	case m.To != t.cfg.ID:
		return fmt.Errorf("%v from %x is addressed to %x, this is %x", m.Type, from, m.To, t.cfg.ID)
	case raft.IsLocalMsg(m.Type):
		return fmt.Errorf("%v from %x is a local message type", m.Type, from)
	}
	return nil
}

// receiveMessages steps the messages of a message stream from peer from
// into raft until the stream ends or misbehaves. A frame is checked whole
// before any of its messages is stepped.
func (t *Transport) receiveMessages(fr *frameReader, from uint64) error {
	var msgs []raftpb.Message
	for {
		f, err := fr.next()
		if err != nil {
			return err
		}
		if f.kind != kindMessages {
			return fmt.Errorf("unexpected %s frame on a message stream", f.kind)
		}
		if f.group != 0 {
			return fmt.Errorf("frame for raft group %d, only group 0 is served", f.group)
		}
		if msgs, err = decodeBatch(f.payload, msgs[:0]); err != nil {
			return err
		}
		for i := range msgs {
			if err := t.checkMessage(&msgs[i], from); err != nil {
				return err
			}
			if msgs[i].Type == raftpb.MsgSnap {
				return fmt.Errorf("MsgSnap from %x on a message stream", from)
			}
		}
		for i := range msgs {
			if err := t.cfg.Raft.Step(t.ctx, msgs[i]); err != nil {
				if t.ctx.Err() != nil {
					return nil
				}
				t.log.Debugf("transport %x: raft refused %v from %x: %v", t.cfg.ID, msgs[i].Type, from, err)
			}
		}
		clear(msgs) // raft owns their slices now; keep nothing alive
	}
}
