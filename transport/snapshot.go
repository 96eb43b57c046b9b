package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// Snapshots travel on a connection of their own, dialed for the purpose,
// so that a large snapshot never holds up the peer's message stream (the
// heartbeats and appends queued behind it would otherwise wait for the
// whole snapshot). The stream is:
//
//	dialer                             acceptor
//	hello (streamSnapshot)       ->
//	                             <-    accept
//	snapshot header              ->    (allocates the data once)
//	chunk, chunk, ...            ->    (each read in place)
//	                             <-    snapshot ack, or reject and why
//
// The sender writes each chunk straight from the message's Snapshot.Data
// and encodes only the metadata, so it never holds a second copy of the
// data; the receiver reads every chunk into its final place.

// sendSnapshot starts sending m, a MsgSnap, to the peer, unless a snapshot
// is already on its way there; the outcome is reported either way. It is
// called from Send with t.mu held and the transport open.
func (p *peer) sendSnapshot(m raftpb.Message) {
	if m.Snapshot == nil {
		p.t.log.Errorf("transport %x: dropping MsgSnap to %x without a snapshot", p.t.cfg.ID, p.id)
		p.t.reporter.reportSnapshot(p.id, raft.SnapshotFailure)
		return
	}
	if !p.sendingSnapshots.CompareAndSwap(false, true) {
		p.t.log.Warningf("transport %x: dropping snapshot at index %d to %x: another one is being sent",
			p.t.cfg.ID, m.Snapshot.Metadata.Index, p.id)
		p.t.reporter.reportSnapshot(p.id, raft.SnapshotFailure)
		return
	}
	p.t.wg.Add(1)
	go func() {
		defer p.t.wg.Done()
		err := p.streamSnapshot(&m)
		p.sendingSnapshots.Store(false)
		meta := m.Snapshot.Metadata
		if err != nil {
			if p.ctx.Err() == nil {
				p.t.log.Warningf("transport %x: sending snapshot at index %d to %x failed: %v", p.t.cfg.ID, meta.Index, p.id, err)
			}
			p.t.reporter.reportSnapshot(p.id, raft.SnapshotFailure)
			return
		}
		p.t.log.Infof("transport %x: peer %x acknowledged snapshot at index %d (%d bytes)",
			p.t.cfg.ID, p.id, meta.Index, len(m.Snapshot.Data))
		p.t.reporter.reportSnapshot(p.id, raft.SnapshotFinish)
	}()
}

// streamSnapshot runs the sending side of a snapshot stream and returns
// nil once the peer has acknowledged the snapshot.
func (p *peer) streamSnapshot(m *raftpb.Message) error {
	c, err := p.t.dial(p.ctx, p.address(), p.id, streamSnapshot)
	if err != nil {
		return err
	}
	defer c.raw.Close()
	stop := context.AfterFunc(p.ctx, func() { c.raw.Close() })
	defer stop()

	head, err := encodeSnapHeader(m)
	if err != nil {
		return fmt.Errorf("encoding snapshot metadata: %w", err)
	}
	if len(head) > p.t.cfg.MaxFrameSize {
		return fmt.Errorf("snapshot metadata of %d bytes exceeds MaxFrameSize %d", len(head), p.t.cfg.MaxFrameSize)
	}
	c.conn.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
	if _, err := c.conn.Write(appendFrame(nil, kindSnapHeader, 0, head)); err != nil {
		return fmt.Errorf("writing snapshot header: %w", err)
	}
	data := m.Snapshot.Data
	var hdr [headerSize]byte
	for off := 0; off < len(data); {
		chunk := data[off:min(off+p.t.cfg.SnapshotChunkSize, len(data))]
		putHeader(hdr[:], kindSnapChunk, 0, chunk)
		c.conn.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
		bufs := net.Buffers{hdr[:], chunk}
		if _, err := bufs.WriteTo(c.conn); err != nil {
			return fmt.Errorf("writing snapshot data at offset %d of %d: %w", off, len(data), err)
		}
		off += len(chunk)
	}
	c.conn.SetReadDeadline(time.Now().Add(p.t.cfg.SnapshotTimeout))
	f, err := c.reader.next()
	switch {
	case err != nil:
		return fmt.Errorf("waiting for the acknowledgement: %w", err)
	case f.kind == kindSnapAck:
		return nil
	case f.kind == kindReject:
		return fmt.Errorf("refused: %q", f.payload)
	}
	return fmt.Errorf("unexpected %s frame instead of an acknowledgement", f.kind)
}

var errSnapshotRefused = errors.New("raft refused the snapshot")

// receiveSnapshot reads one snapshot from the stream of peer from, steps
// it into raft and acknowledges it. Each frame must arrive within
// SnapshotTimeout.
func (t *Transport) receiveSnapshot(conn net.Conn, fr *frameReader, from uint64) error {
	conn.SetReadDeadline(time.Now().Add(t.cfg.SnapshotTimeout))
	f, err := fr.next()
	if err != nil {
		return err
	}
	if f.kind != kindSnapHeader || f.group != 0 {
		return fmt.Errorf("unexpected %s frame (group %d) opening a snapshot stream", f.kind, f.group)
	}
	sh, err := parseSnapHeader(f.payload)
	if err != nil {
		return err
	}
	if err := t.checkMessage(&sh.msg, from); err != nil {
		return err
	}
	if sh.dataLen > uint64(t.cfg.MaxSnapshotSize) {
		return fmt.Errorf("snapshot of %d bytes exceeds MaxSnapshotSize %d", sh.dataLen, t.cfg.MaxSnapshotSize)
	}
	var data []byte
	if !sh.dataNil {
		data = make([]byte, sh.dataLen)
	}
	for off := 0; off < len(data); {
		conn.SetReadDeadline(time.Now().Add(t.cfg.SnapshotTimeout))
		h, err := fr.readHeader()
		if errors.Is(err, io.EOF) {
			err = errTruncated // a clean end between frames is still too early
		}
		if err != nil {
			return fmt.Errorf("snapshot data at offset %d of %d: %w", off, len(data), err)
		}
		if h.kind != kindSnapChunk || h.group != 0 || h.length == 0 || int(h.length) > len(data)-off {
			return fmt.Errorf("unexpected %s frame of %d bytes (group %d) at snapshot offset %d of %d",
				h.kind, h.length, h.group, off, len(data))
		}
		if err := fr.readPayload(h, data[off:off+int(h.length)]); err != nil {
			return err
		}
		off += int(h.length)
	}
	conn.SetReadDeadline(time.Time{})
	sh.msg.Snapshot.Data = data
	err = t.cfg.Raft.Step(t.ctx, sh.msg)
	conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	if err != nil {
		conn.Write(appendFrame(nil, kindReject, 0, rejectPayload(fmt.Sprintf("%v: %v", errSnapshotRefused, err))))
		return fmt.Errorf("%w: %v", errSnapshotRefused, err)
	}
	if _, err := conn.Write(appendFrame(nil, kindSnapAck, 0, nil)); err != nil {
		return fmt.Errorf("acknowledging the snapshot: %w", err)
	}
	t.log.Infof("transport %x: received snapshot at index %d (%d bytes) from %x",
		t.cfg.ID, sh.msg.Snapshot.Metadata.Index, len(data), from)
	return nil
}
