package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// Raft is what the transport needs from the host: somewhere to hand the
// messages it receives, and somewhere to report the ones it could not
// deliver. raft.Node implements it as it is; a host built on raft.RawNode
// implements it with a mutex around its RawNode (see the examples).
//
// The transport calls these methods from its own goroutines, never from
// inside Send, AddPeer, UpdatePeer, RemovePeer or Close, so they may take a
// lock the host holds while it calls Send. They must be safe for concurrent
// use. No method is called after Close has returned.
type Raft interface {
	// Step hands a message received from a peer to raft. The transport
	// calls it for the messages of one sender in the order they were sent.
	// A Step that blocks holds up that sender's stream (and so pushes back
	// on it); it must return once ctx ends. An error is logged at debug
	// level and the stream goes on: raft refuses stale messages routinely.
	Step(ctx context.Context, m raftpb.Message) error
	// ReportUnreachable says that messages to peer id were dropped.
	ReportUnreachable(id uint64)
	// ReportSnapshot gives the outcome of a MsgSnap handed to Send:
	// raft.SnapshotFinish once peer id has acknowledged the snapshot,
	// raft.SnapshotFailure when it could not be delivered.
	ReportSnapshot(id uint64, status raft.SnapshotStatus)
}

// Config configures a Transport. ID, ClusterID and Raft are required; every
// other zero field takes the default named in its comment.
type Config struct {
	// ID is the local node's raft ID; it must not be zero.
	ID uint64
	// ClusterID names the cluster. Connections between transports with
	// different ClusterIDs are refused, so that two clusters sharing hosts
	// never exchange messages. It must not be zero.
	ClusterID uint64
	// Raft receives messages and delivery reports.
	Raft Raft
	// Logger receives the transport's logs: connections made and lost,
	// connections refused and why, dropped messages. Default: a
	// raft.DefaultLogger writing to standard error.
	Logger raft.Logger

	// ClientTLS, when set, makes every outgoing connection TLS with this
	// configuration (give it Certificates for client authentication and
	// RootCAs to check the peers). An empty ServerName is filled in with
	// the host part of the peer's address.
	ClientTLS *tls.Config
	// ServerTLS, when set, makes Serve expect TLS on every accepted
	// connection. Set ClientAuth to tls.RequireAndVerifyClientCert and
	// ClientCAs to accept only nodes holding a certificate you issued.
	ServerTLS *tls.Config

	// MaxFrameSize bounds a frame's payload, in both directions; a peer
	// announcing a larger frame is disconnected. A message whose encoding
	// does not fit in a frame cannot be sent and is dropped, so it must
	// exceed the largest message raft will produce (see
	// raft.Config.MaxSizePerMsg; one entry larger than that still makes a
	// message of its own). It is also the most memory one connection may
	// hold for reading. Default 16 MiB; at least 4 KiB, at most 1 GiB.
	MaxFrameSize int
	// QueueMessages and QueueBytes bound each peer's outbound queue. A
	// message that would exceed either is dropped (and reported) instead
	// of queued. Defaults 4096 messages and 64 MiB.
	QueueMessages int
	QueueBytes    int

	// DialTimeout bounds establishing a TCP connection. Default 5s.
	DialTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake and the hello exchange,
	// on both sides. Default 5s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds each write to a peer; a peer that does not read
	// for this long is disconnected. Default 10s.
	WriteTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the pause between attempts to
	// reach a peer. It doubles from ReconnectMin up to ReconnectMax after
	// each failure or short-lived stream, with random jitter, and starts
	// again from ReconnectMin once a stream has stayed up for ReconnectMax
	// (or the peer's address changes). Defaults 100ms and 5s.
	ReconnectMin time.Duration
	ReconnectMax time.Duration

	// SnapshotChunkSize is the size of the pieces snapshot data is sent
	// in; at most MaxFrameSize. Default 1 MiB, or MaxFrameSize if that is
	// smaller.
	SnapshotChunkSize int
	// MaxSnapshotSize bounds the snapshot data accepted from a peer; the
	// receiver allocates the announced size at once. Default 1 GiB.
	MaxSnapshotSize int64
	// SnapshotTimeout bounds each step of receiving a snapshot (the next
	// chunk) and the sender's wait for the acknowledgement after the last
	// chunk. Default 30s.
	SnapshotTimeout time.Duration
}

// Errors returned by the Transport's methods.
var (
	// ErrInvalidConfig is wrapped by New for a Config it cannot use.
	ErrInvalidConfig = errors.New("transport: invalid config")
	// ErrInvalidPeer is wrapped for a peer ID or address that cannot be
	// used: zero, the local ID, or an address without a port.
	ErrInvalidPeer = errors.New("transport: invalid peer")
	// ErrPeerExists is returned by AddPeer for an ID already added.
	ErrPeerExists = errors.New("transport: peer already added")
	// ErrPeerNotFound is returned by UpdatePeer and RemovePeer for an ID
	// that was not added (or was removed).
	ErrPeerNotFound = errors.New("transport: peer not found")
	// ErrClosed is returned by the methods of a closed Transport.
	ErrClosed = errors.New("transport: closed")
)

const (
	defaultMaxFrameSize      = 16 << 20
	minMaxFrameSize          = 4 << 10
	maxMaxFrameSize          = 1 << 30
	defaultQueueMessages     = 4096
	defaultQueueBytes        = 64 << 20
	defaultDialTimeout       = 5 * time.Second
	defaultHandshakeTimeout  = 5 * time.Second
	defaultWriteTimeout      = 10 * time.Second
	defaultReconnectMin      = 100 * time.Millisecond
	defaultReconnectMax      = 5 * time.Second
	defaultSnapshotChunkSize = 1 << 20
	defaultMaxSnapshotSize   = 1 << 30
	defaultSnapshotTimeout   = 30 * time.Second
)

// validate returns a copy of c with defaults filled in, or an error that
// wraps ErrInvalidConfig and names the field.
func (c Config) validate() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if c.ID == 0 {
		return bad("ID must not be zero")
	}
	if c.ClusterID == 0 {
		return bad("ClusterID must not be zero")
	}
	if c.Raft == nil {
		return bad("Raft must be set")
	}
	if c.Logger == nil {
		c.Logger = &raft.DefaultLogger{Logger: log.New(os.Stderr, "transport ", log.LstdFlags)}
	}
	err := errors.Join(
		withDefault("MaxFrameSize", &c.MaxFrameSize, defaultMaxFrameSize),
		withDefault("QueueMessages", &c.QueueMessages, defaultQueueMessages),
		withDefault("QueueBytes", &c.QueueBytes, defaultQueueBytes),
		withDefault("DialTimeout", &c.DialTimeout, defaultDialTimeout),
		withDefault("HandshakeTimeout", &c.HandshakeTimeout, defaultHandshakeTimeout),
		withDefault("WriteTimeout", &c.WriteTimeout, defaultWriteTimeout),
		withDefault("ReconnectMin", &c.ReconnectMin, defaultReconnectMin),
		withDefault("ReconnectMax", &c.ReconnectMax, defaultReconnectMax),
		withDefault("SnapshotTimeout", &c.SnapshotTimeout, defaultSnapshotTimeout),
		withDefault("MaxSnapshotSize", &c.MaxSnapshotSize, defaultMaxSnapshotSize),
	)
	if err != nil {
		return Config{}, err
	}
	if c.MaxFrameSize < minMaxFrameSize || c.MaxFrameSize > maxMaxFrameSize {
		return bad("MaxFrameSize %d outside [%d, %d]", c.MaxFrameSize, minMaxFrameSize, maxMaxFrameSize)
	}
	// NB: after MaxFrameSize has its value, which bounds this default.
	if err := withDefault("SnapshotChunkSize", &c.SnapshotChunkSize, min(defaultSnapshotChunkSize, c.MaxFrameSize)); err != nil {
		return Config{}, err
	}
	if c.SnapshotChunkSize > c.MaxFrameSize {
		return bad("SnapshotChunkSize %d exceeds MaxFrameSize %d", c.SnapshotChunkSize, c.MaxFrameSize)
	}
	if c.ReconnectMin > c.ReconnectMax {
		return bad("ReconnectMin %v exceeds ReconnectMax %v", c.ReconnectMin, c.ReconnectMax)
	}
	return c, nil
}

// withDefault sets *v to def when it is zero, and returns an error naming
// the field when it is negative.
func withDefault[T ~int | ~int64](name string, v *T, def T) error {
	if *v < 0 {
		return fmt.Errorf("%w: %s is negative (%v)", ErrInvalidConfig, name, *v)
	}
	if *v == 0 {
		*v = def
	}
	return nil
}
