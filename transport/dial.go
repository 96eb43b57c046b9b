package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// clientConn is an outgoing connection whose handshake has succeeded: the
// far end is node `to` of our cluster and has accepted us.
type clientConn struct {
	conn   net.Conn // TLS over raw, or raw itself
	reader *frameReader
	// raw is the TCP connection. Closing it, rather than conn, ends the
	// stream at once: a TLS close would first try to send an alert to a
	// peer that may not be reading.
	raw net.Conn
}

// dial connects to addr, expecting node to, and opens a stream of the given
// kind: TLS if configured, then hello and its answer, within
// HandshakeTimeout. The returned connection has no deadline set. ctx ending
// aborts the dial and the handshake.
func (t *Transport) dial(ctx context.Context, addr string, to uint64, stream streamKind) (*clientConn, error) {
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := t.handshake(ctx, conn, addr, to, stream)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (t *Transport) handshake(ctx context.Context, raw net.Conn, addr string, to uint64, stream streamKind) (*clientConn, error) {
	conn := raw
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	if t.cfg.ClientTLS != nil {
		cfg := t.cfg.ClientTLS
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	h := hello{clusterID: t.cfg.ClusterID, from: t.cfg.ID, to: to, stream: stream}
	if _, err := conn.Write(appendFrame(nil, kindHello, 0, h.appendTo(nil))); err != nil {
		return nil, fmt.Errorf("sending hello: %w", err)
	}
	fr := newFrameReader(conn, t.cfg.MaxFrameSize)
	f, err := fr.next()
	if err != nil {
		return nil, fmt.Errorf("waiting for the answer to hello: %w", err)
	}
	switch f.kind {
	case kindAccept:
	case kindReject:
		return nil, fmt.Errorf("refused by %s: %q", addr, f.payload)
	default:
		return nil, fmt.Errorf("unexpected %s frame in answer to hello", f.kind)
	}
	a, err := parseAccept(f.payload)
	if err != nil {
		return nil, err
	}
	if a.clusterID != t.cfg.ClusterID || a.id != to || f.group != 0 {
		return nil, fmt.Errorf("%s is node %x of cluster %x (group %d), want node %x of cluster %x",
			addr, a.id, a.clusterID, f.group, to, t.cfg.ClusterID)
	}
	if !stop() {
		return nil, ctx.Err() // ctx ended as the handshake finished
	}
	conn.SetDeadline(time.Time{})
	return &clientConn{conn: conn, reader: fr, raw: raw}, nil
}
