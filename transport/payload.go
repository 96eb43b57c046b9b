package transport

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/quorate/raft/raftpb"
)

// streamKind says what a connection carries after its handshake.
type streamKind uint8

const (
	// streamMessages carries kindMessages frames, one way, for as long as
	// the connection lives.
	streamMessages streamKind = 1
	// streamSnapshot carries one snapshot (a header and its chunks) and is
	// answered by kindSnapAck or kindReject.
	streamSnapshot streamKind = 2
)

func (s streamKind) String() string {
	switch s {
	case streamMessages:
		return "message"
	case streamSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("stream(%d)", uint8(s))
}

// hello is the first frame on every connection. It states who is calling,
// whom it means to reach and in which cluster, before any message is read.
type hello struct {
	clusterID uint64
	from      uint64 // the dialing node
	to        uint64 // the node the dialer believes it reached
	stream    streamKind
}

const helloSize = 25

func (h hello) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, h.clusterID)
	b = binary.BigEndian.AppendUint64(b, h.from)
	b = binary.BigEndian.AppendUint64(b, h.to)
	return append(b, byte(h.stream))
}

func parseHello(p []byte) (hello, error) {
	if len(p) != helloSize {
		return hello{}, fmt.Errorf("%w: hello of %d bytes, want %d", errMalformed, len(p), helloSize)
	}
	h := hello{
		clusterID: binary.BigEndian.Uint64(p[0:8]),
		from:      binary.BigEndian.Uint64(p[8:16]),
		to:        binary.BigEndian.Uint64(p[16:24]),
		stream:    streamKind(p[24]),
	}
	if h.stream != streamMessages && h.stream != streamSnapshot {
		return hello{}, fmt.Errorf("%w: unknown stream kind %d", errMalformed, p[24])
	}
	return h, nil
}

// accept answers a hello: the accepting node confirms its cluster and ID,
// so the dialer notices an address that now belongs to someone else.
type accept struct {
	clusterID uint64
	id        uint64
}

const acceptSize = 16

func (a accept) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, a.clusterID)
	return binary.BigEndian.AppendUint64(b, a.id)
}

func parseAccept(p []byte) (accept, error) {
	if len(p) != acceptSize {
		return accept{}, fmt.Errorf("%w: accept of %d bytes, want %d", errMalformed, len(p), acceptSize)
	}
	return accept{clusterID: binary.BigEndian.Uint64(p[0:8]), id: binary.BigEndian.Uint64(p[8:16])}, nil
}

// maxReasonLen bounds the text of a reject frame.
const maxReasonLen = 256

func rejectPayload(reason string) []byte {
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	return []byte(reason)
}

// queued is a message waiting in a peer's queue. size is m.Size() taken
// when the message was queued; the message is not modified afterwards (it
// is read-only under the Ready contract), so the size stays right.
type queued struct {
	m    raftpb.Message
	size int
}

// batchEncoder turns a drained queue into kindMessages frames laid out
// back to back in one reusable buffer, so that a whole batch goes out in
// one write. A frame's payload is a sequence of (uvarint length, encoded
// raftpb.Message) records.
type batchEncoder struct {
	group uint64
	// maxPayload is the payload size at which a frame is closed and the
	// next one opened. A message that alone exceeds it gets a frame of its
	// own, which the reader accepts as long as it is within MaxFrameSize
	// (Send drops messages for which it would not be).
	maxPayload int
	buf        []byte
}

var zeroHeader [headerSize]byte

// encode returns the frames for batch; the result is valid until the next
// call. It panics if a message's encoding does not have the recorded size,
// which means the message was modified after Send.
func (e *batchEncoder) encode(batch []queued) []byte {
	buf := e.buf[:0]
	start := -1 // offset of the open frame's header, -1 when none is open
	for i := range batch {
		q := &batch[i]
		need := uvarintLen(uint64(q.size)) + q.size
		if start >= 0 && len(buf)-start-headerSize+need > e.maxPayload {
			putHeader(buf[start:], kindMessages, e.group, buf[start+headerSize:])
			start = -1
		}
		if start < 0 {
			start = len(buf)
			buf = append(buf, zeroHeader[:]...)
		}
		buf = binary.AppendUvarint(buf, uint64(q.size))
		buf = slices.Grow(buf, q.size)
		end := len(buf) + q.size
		n, err := q.m.MarshalToSizedBuffer(buf[len(buf):end])
		if err != nil || n != q.size {
			panic(fmt.Sprintf("transport: message to %x encoded to %d bytes (err %v), %d when queued", q.m.To, n, err, q.size))
		}
		buf = buf[:end]
	}
	if start >= 0 {
		putHeader(buf[start:], kindMessages, e.group, buf[start+headerSize:])
	}
	e.buf = buf
	return buf
}

// release drops a buffer that one unusually large batch has grown, so an
// idle peer does not keep it.
func (e *batchEncoder) release() {
	if cap(e.buf) > releaseAbove {
		e.buf = nil
	}
}

const releaseAbove = 4 << 20

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// decodeBatch appends the messages of a kindMessages payload to msgs.
//
// NB: each message is decoded into a zero Message. gogo's Unmarshal appends
// to the slices it finds in its receiver, and the previous message's
// Entries now belong to raft.
func decodeBatch(payload []byte, msgs []raftpb.Message) ([]raftpb.Message, error) {
	for len(payload) > 0 {
		n, k := binary.Uvarint(payload)
		if k <= 0 {
			return msgs, fmt.Errorf("%w: bad message length prefix", errMalformed)
		}
		payload = payload[k:]
		if n > uint64(len(payload)) {
			return msgs, fmt.Errorf("%w: message of %d bytes in %d remaining", errMalformed, n, len(payload))
		}
		msgs = append(msgs, raftpb.Message{})
		if err := msgs[len(msgs)-1].Unmarshal(payload[:n]); err != nil {
			return msgs[:len(msgs)-1], fmt.Errorf("%w: message: %v", errMalformed, err)
		}
		payload = payload[n:]
	}
	return msgs, nil
}

// snapHeader is the first frame of a snapshot stream: the MsgSnap with its
// Snapshot.Data left out, and the length of that data, which follows in
// kindSnapChunk frames.
type snapHeader struct {
	dataLen uint64
	// dataNil records whether Snapshot.Data was nil rather than empty, so
	// the receiver rebuilds the message exactly.
	dataNil bool
	msg     raftpb.Message // Snapshot != nil, Snapshot.Data == nil
}

// encodeSnapHeader builds the header payload for m, a MsgSnap with a
// non-nil Snapshot. The data itself is not copied: only the metadata is
// encoded, from a shallow copy whose Data is nil.
func encodeSnapHeader(m *raftpb.Message) ([]byte, error) {
	snap := *m.Snapshot
	snap.Data = nil
	meta := *m
	meta.Snapshot = &snap
	body, err := meta.Marshal()
	if err != nil {
		return nil, err
	}
	p := binary.BigEndian.AppendUint64(make([]byte, 0, 9+len(body)), uint64(len(m.Snapshot.Data)))
	var flags byte
	if m.Snapshot.Data == nil {
		flags = 1
	}
	p = append(p, flags)
	return append(p, body...), nil
}

func parseSnapHeader(p []byte) (snapHeader, error) {
	if len(p) < 9 {
		return snapHeader{}, fmt.Errorf("%w: snapshot header of %d bytes", errMalformed, len(p))
	}
	h := snapHeader{dataLen: binary.BigEndian.Uint64(p[0:8])}
	switch p[8] {
	case 0:
	case 1:
		h.dataNil = true
	default:
		return snapHeader{}, fmt.Errorf("%w: snapshot header flags %#x", errMalformed, p[8])
	}
	if h.dataNil && h.dataLen != 0 {
		return snapHeader{}, fmt.Errorf("%w: nil snapshot data of %d bytes", errMalformed, h.dataLen)
	}
	if err := h.msg.Unmarshal(p[9:]); err != nil {
		return snapHeader{}, fmt.Errorf("%w: snapshot message: %v", errMalformed, err)
	}
	if h.msg.Type != raftpb.MsgSnap || h.msg.Snapshot == nil || len(h.msg.Snapshot.Data) != 0 {
		return snapHeader{}, fmt.Errorf("%w: snapshot header holds a %v", errMalformed, h.msg.Type)
	}
	return h, nil
}
