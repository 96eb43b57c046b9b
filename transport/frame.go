package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The wire format. Every byte a connection carries belongs to a frame:
//
//	offset size field
//	0      1    version   frameVersion; anything else is refused
//	1      1    kind      what the payload is (frameKind)
//	2      2    reserved  zero in version 1
//	4      8    group     raft group the frame belongs to (0 today)
//	12     4    length    payload length in bytes, at most the reader's limit
//	16     4    checksum  CRC-32C of bytes 0..15 and the payload
//	20     ...  payload
//
// All integers are big-endian. The checksum makes garbage and torn streams
// show up as an error at the first bad frame instead of as a message that
// happens to decode. The group field leaves room for carrying many raft
// groups over one connection; this version sends and accepts only group 0.
const (
	frameVersion = 1
	headerSize   = 20
)

// frameKind says what a frame's payload holds and when it may appear.
type frameKind uint8

const (
	// kindHello opens every connection, from the dialing side (hello).
	kindHello frameKind = 1
	// kindAccept answers a hello the accepting side agrees to (accept).
	kindAccept frameKind = 2
	// kindReject carries a human-readable reason before a close.
	kindReject frameKind = 3
	// kindMessages carries a batch of raft messages (encodeBatch).
	kindMessages frameKind = 4
	// kindSnapHeader starts a snapshot stream: data length and the MsgSnap
	// without its data.
	kindSnapHeader frameKind = 5
	// kindSnapChunk carries the next piece of the snapshot data.
	kindSnapChunk frameKind = 6
	// kindSnapAck tells the sender the snapshot was handed to raft.
	kindSnapAck frameKind = 7

	maxKind = kindSnapAck
)

func (k frameKind) String() string {
	switch k {
	case kindHello:
		return "hello"
	case kindAccept:
		return "accept"
	case kindReject:
		return "reject"
	case kindMessages:
		return "messages"
	case kindSnapHeader:
		return "snapshot-header"
	case kindSnapChunk:
		return "snapshot-chunk"
	case kindSnapAck:
		return "snapshot-ack"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Errors of the frame layer. Each is wrapped with the values involved; they
// all mean the stream cannot be trusted any further and must be closed.
var (
	errVersion   = errors.New("unsupported frame version")
	errReserved  = errors.New("reserved header bits set")
	errKind      = errors.New("unknown frame kind")
	errTooLarge  = errors.New("frame larger than the limit")
	errChecksum  = errors.New("frame checksum mismatch")
	errTruncated = errors.New("stream ended inside a frame")
	errMalformed = errors.New("malformed frame payload")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameHeader is a decoded header; length and checksum describe the payload
// that follows it on the stream.
type frameHeader struct {
	kind     frameKind
	group    uint64
	length   uint32
	checksum uint32
}

// putHeader fills hdr (at least headerSize bytes) for a frame of the given
// kind and group whose payload is payload.
func putHeader(hdr []byte, kind frameKind, group uint64, payload []byte) {
	hdr[0] = frameVersion
	hdr[1] = byte(kind)
	hdr[2], hdr[3] = 0, 0
	binary.BigEndian.PutUint64(hdr[4:12], group)
	binary.BigEndian.PutUint32(hdr[12:16], uint32(len(payload)))
	sum := crc32.Update(crc32.Checksum(hdr[:16], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(hdr[16:20], sum)
}

// appendFrame appends a whole frame with the given payload to dst.
func appendFrame(dst []byte, kind frameKind, group uint64, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, headerSize)...)
	dst = append(dst, payload...)
	putHeader(dst[start:], kind, group, dst[start+headerSize:])
	return dst
}

// frameReader decodes frames from a stream. It is not safe for concurrent
// use. The payload returned by next is valid until the following call.
type frameReader struct {
	r io.Reader
	// limit is the largest payload accepted; a header announcing more is
	// refused before anything is allocated for it.
	limit int
	hdr   [headerSize]byte
	// buf holds the payload of the last frame returned by next.
	// Invariant: cap(buf) <= limit.
	buf []byte
}

func newFrameReader(r io.Reader, limit int) *frameReader {
	return &frameReader{r: r, limit: limit}
}

// readHeader reads and checks the next header. It returns io.EOF when the
// stream ends cleanly between frames, errTruncated when it ends inside the
// header, and one of the frame errors for a header that cannot be valid.
func (fr *frameReader) readHeader() (frameHeader, error) {
	if n, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		if err == io.EOF {
			return frameHeader{}, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return frameHeader{}, fmt.Errorf("%w: header cut after %d of %d bytes", errTruncated, n, headerSize)
		}
		return frameHeader{}, err
	}
	hdr := fr.hdr[:]
	if hdr[0] != frameVersion {
		return frameHeader{}, fmt.Errorf("%w: got %d, want %d", errVersion, hdr[0], frameVersion)
	}
	h := frameHeader{
		kind:     frameKind(hdr[1]),
		group:    binary.BigEndian.Uint64(hdr[4:12]),
		length:   binary.BigEndian.Uint32(hdr[12:16]),
		checksum: binary.BigEndian.Uint32(hdr[16:20]),
	}
	if hdr[2] != 0 || hdr[3] != 0 {
		return frameHeader{}, fmt.Errorf("%w: %#02x%02x", errReserved, hdr[2], hdr[3])
	}
	if h.kind == 0 || h.kind > maxKind {
		return frameHeader{}, fmt.Errorf("%w: %d", errKind, uint8(h.kind))
	}
	if uint64(h.length) > uint64(fr.limit) {
		return frameHeader{}, fmt.Errorf("%w: %s frame of %d bytes, limit %d", errTooLarge, h.kind, h.length, fr.limit)
	}
	return h, nil
}

// readPayload reads the payload announced by h into dst, which must be
// exactly h.length bytes long, and verifies the checksum. The caller picks
// dst; the snapshot receiver passes a window of the final data buffer so
// that chunks are never copied twice.
func (fr *frameReader) readPayload(h frameHeader, dst []byte) error {
	if len(dst) != int(h.length) {
		panic(fmt.Sprintf("transport: payload buffer of %d bytes for a frame of %d", len(dst), h.length))
	}
	if n, err := io.ReadFull(fr.r, dst); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: %s payload cut after %d of %d bytes", errTruncated, h.kind, n, h.length)
		}
		return err
	}
	sum := crc32.Update(crc32.Checksum(fr.hdr[:16], castagnoli), castagnoli, dst)
	if sum != h.checksum {
		return fmt.Errorf("%w: %s frame says %#08x, payload has %#08x", errChecksum, h.kind, h.checksum, sum)
	}
	return nil
}

// frame is one decoded frame; payload aliases the reader's buffer.
type frame struct {
	kind    frameKind
	group   uint64
	payload []byte
}

// next reads a whole frame into the reader's own buffer.
func (fr *frameReader) next() (frame, error) {
	h, err := fr.readHeader()
	if err != nil {
		return frame{}, err
	}
	if cap(fr.buf) < int(h.length) {
		fr.buf = make([]byte, h.length)
	}
	payload := fr.buf[:h.length]
	if err := fr.readPayload(h, payload); err != nil {
		return frame{}, err
	}
	return frame{kind: h.kind, group: h.group, payload: payload}, nil
}
