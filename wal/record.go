package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	pb "github.com/quorate/raft/raftpb"
)

// On-disk format, version 2. All integers are little-endian.
//
// A segment file starts with a segmentHeaderSize-byte header:
//
//	[0,8)   magic "QRWALSEG"
//	[8,12)  format version
//	[12,16) reserved, zero
//	[16,24) segment sequence number (also in the file name)
//	[24,28) reserved, zero
//	[28,32) CRC-32C of bytes [0,28)
//
// and continues with records, back to back:
//
//	[0,4)   CRC-32C of bytes [4, recordHeaderSize+length)
//	[4,8)   payload length
//	[8]     record type
//	[9,12)  reserved, zero
//	[12,20) raft group ID; always 0 in this version
//	[20,..) payload
//
// Unlike LevelDB's log, records are not cut into fixed blocks: the log is
// never resynchronised after damage (damage that is not a torn tail is an
// error), so blocks would buy nothing. Like it, every record carries its own
// checksum, so a torn tail is recognised wherever the write stopped.
//
// An entry record's payload is an entry (see appendEntryPayloads); an
// entries record's is two or more consecutive entries, each prefixed by
// its length in 4 bytes.
//
// Version 2 added the entries record (recEntries), so that the entries of
// one write share a checksum. A CRC-32C over a few hundred bytes is bound
// by the latency of the CRC instruction rather than its throughput: one
// checksum per 128-byte entry took about 9 us of the 20 us of CPU that a
// Save of 256 such entries cost, where one over the batch takes about
// 2 us. Version 1 segments hold only the other records; they are still
// read, and Open starts a new segment rather than append to one of them.
const (
	formatVersion = 2
	// minFormatVersion is the oldest format version Open reads.
	minFormatVersion  = 1
	segmentHeaderSize = 32
	recordHeaderSize  = 20
	// maxPayload bounds a record's payload: an entry's data may be at most
	// maxPayload-entryHeaderSize bytes. It keeps offsets within a segment
	// in a uint32 (a segment ends after the record that crosses
	// Options.SegmentBytes, and SegmentBytes is at most maxSegmentBytes).
	maxPayload = 1 << 30
)

var segmentMagic = [8]byte{'Q', 'R', 'W', 'A', 'L', 'S', 'E', 'G'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordType says what a record's payload holds.
type recordType uint8

const (
	// recBase is the first record of every segment: the state of the store
	// when the segment was started (see baseRecord).
	recBase recordType = 1 + iota
	// recEntry is one log entry: appending it discards every entry at or
	// after its index first.
	recEntry
	// recHardState replaces the HardState.
	recHardState
	// recSnapApplied installs a snapshot received from a leader: the log is
	// discarded and restarts after the snapshot's index.
	recSnapApplied
	// recSnapCreated records a snapshot taken by the application; the log
	// is kept.
	recSnapCreated
	// recCompact discards the entries up to an index.
	recCompact
	// recEntries is two or more consecutive entries written together, each
	// one as an entry payload prefixed by its 4-byte length; appending them
	// discards every entry at or after the first one's index first. Since
	// format version entriesVersion.
	recEntries
	maxRecordType = recEntries
)

// entriesVersion is the format version that introduced recEntries.
const entriesVersion = 2

// entriesRecordBytes is the payload size up to which the consecutive
// entries of one write share a record. A larger record would make a read of
// one entry that is not cached read and check more bytes.
const entriesRecordBytes = 8 << 10

func (t recordType) String() string {
	switch t {
	case recBase:
		return "base"
	case recEntry:
		return "entry"
	case recHardState:
		return "hardstate"
	case recSnapApplied:
		return "snapshot-applied"
	case recSnapCreated:
		return "snapshot-created"
	case recCompact:
		return "compact"
	case recEntries:
		return "entries"
	}
	return fmt.Sprintf("type-%d", uint8(t))
}

// Reasons a record does not decode. errShortRecord is the only one that may
// mean "the write was cut here" rather than damage.
var (
	errShortRecord  = errors.New("record extends past the end of the file")
	errChecksum     = errors.New("record checksum mismatch")
	errRecordHeader = errors.New("invalid record header")
)

// record is a decoded record header with its payload, which aliases the
// buffer it was decoded from.
type record struct {
	typ     recordType
	group   uint64
	payload []byte
}

// appendSegmentHeader appends the header of segment seq, in the current
// format version, to buf.
func appendSegmentHeader(buf []byte, seq uint64) []byte {
	return appendVersionedSegmentHeader(buf, seq, formatVersion)
}

// appendVersionedSegmentHeader appends the header of segment seq in format
// version v to buf.
func appendVersionedSegmentHeader(buf []byte, seq uint64, v uint32) []byte {
	var h [segmentHeaderSize]byte
	copy(h[0:8], segmentMagic[:])
	binary.LittleEndian.PutUint32(h[8:12], v)
	binary.LittleEndian.PutUint64(h[16:24], seq)
	binary.LittleEndian.PutUint32(h[28:32], crc32.Checksum(h[:28], castagnoli))
	return append(buf, h[:]...)
}

// decodeSegmentHeader checks a segment header and returns its sequence
// number and format version, one this package reads.
func decodeSegmentHeader(h []byte) (seq uint64, version uint32, err error) {
	if len(h) < segmentHeaderSize {
		return 0, 0, errShortRecord
	}
	if crc32.Checksum(h[:28], castagnoli) != binary.LittleEndian.Uint32(h[28:32]) {
		if [8]byte(h[0:8]) != segmentMagic {
			return 0, 0, errors.New("not a segment file (bad magic)")
		}
		return 0, 0, errors.New("segment header checksum mismatch")
	}
	if [8]byte(h[0:8]) != segmentMagic {
		return 0, 0, errors.New("not a segment file (bad magic)")
	}
	version = binary.LittleEndian.Uint32(h[8:12])
	if version < minFormatVersion || version > formatVersion {
		return 0, 0, fmt.Errorf("segment format version %d, this package reads versions %d to %d", version, minFormatVersion, formatVersion)
	}
	if binary.LittleEndian.Uint32(h[12:16]) != 0 || binary.LittleEndian.Uint32(h[24:28]) != 0 {
		return 0, 0, errors.New("segment header has reserved bits set")
	}
	return binary.LittleEndian.Uint64(h[16:24]), version, nil
}

// beginRecord appends a record header with a placeholder length and
// checksum to buf; the payload is appended next and endRecord completes
// the header. It returns the record's offset in buf.
func beginRecord(buf []byte, typ recordType) ([]byte, int) {
	at := len(buf)
	var h [recordHeaderSize]byte
	h[8] = byte(typ)
	return append(buf, h[:]...), at
}

// endRecord fills in the length and checksum of the record started at at.
func endRecord(buf []byte, at int) {
	binary.LittleEndian.PutUint32(buf[at+4:at+8], uint32(len(buf)-at-recordHeaderSize))
	binary.LittleEndian.PutUint32(buf[at:at+4], crc32.Checksum(buf[at+4:], castagnoli))
}

// decodeRecord decodes the record at the start of buf and returns it with
// its encoded length. It never reads past buf and never panics: malformed
// input is an error (errShortRecord if buf ends before the record does).
func decodeRecord(buf []byte) (record, int, error) {
	if len(buf) < recordHeaderSize {
		return record{}, 0, errShortRecord
	}
	n := binary.LittleEndian.Uint32(buf[4:8])
	if n > maxPayload {
		return record{}, 0, fmt.Errorf("%w: payload length %d exceeds %d", errRecordHeader, n, maxPayload)
	}
	end := recordHeaderSize + int(n)
	if len(buf) < end {
		return record{}, 0, errShortRecord
	}
	if crc32.Checksum(buf[4:end], castagnoli) != binary.LittleEndian.Uint32(buf[0:4]) {
		return record{}, 0, errChecksum
	}
	typ := recordType(buf[8])
	if typ == 0 || typ > maxRecordType {
		return record{}, 0, fmt.Errorf("%w: unknown record type %d", errRecordHeader, typ)
	}
	if buf[9] != 0 || buf[10] != 0 || buf[11] != 0 {
		return record{}, 0, fmt.Errorf("%w: reserved bits set", errRecordHeader)
	}
	rec := record{typ: typ, group: binary.LittleEndian.Uint64(buf[12:20]), payload: buf[recordHeaderSize:end]}
	if rec.group != 0 {
		return record{}, 0, fmt.Errorf("%w: raft group %d, this version stores group 0 only", errRecordHeader, rec.group)
	}
	return rec, end, nil
}

// Entry payload: index, term (8 bytes each), entry type (4 bytes), data.
const entryHeaderSize = 20

// maxEntryData is the largest Entry.Data the store accepts.
const maxEntryData = maxPayload - entryHeaderSize

// entryID reads an entry payload's index and term without decoding it.
func entryID(p []byte) (index, term uint64, err error) {
	if len(p) < entryHeaderSize {
		return 0, 0, fmt.Errorf("entry payload of %d bytes is shorter than %d", len(p), entryHeaderSize)
	}
	return binary.LittleEndian.Uint64(p[0:8]), binary.LittleEndian.Uint64(p[8:16]), nil
}

// decodeEntry decodes an entry payload. The entry's Data aliases p (nil if
// empty, as a decoded protobuf entry's would be).
func decodeEntry(p []byte) (pb.Entry, error) {
	index, term, err := entryID(p)
	if err != nil {
		return pb.Entry{}, err
	}
	typ := pb.EntryType(int32(binary.LittleEndian.Uint32(p[16:20])))
	if !knownEntryType(typ) {
		return pb.Entry{}, fmt.Errorf("unknown entry type %d", int32(typ))
	}
	e := pb.Entry{Index: index, Term: term, Type: typ}
	if len(p) > entryHeaderSize {
		e.Data = p[entryHeaderSize:len(p):len(p)]
	}
	return e, nil
}

// entryCursor walks the entries of an entry or entries record in order.
type entryCursor struct {
	// rest is the part of the payload not walked yet.
	rest []byte
	// prefixed is set for an entries record, whose entries carry their
	// length.
	prefixed bool
	// prev is the index of the last entry returned, if started.
	prev    uint64
	started bool
}

// newEntryCursor returns a cursor over the entries of rec, which must be an
// entry or an entries record.
func newEntryCursor(rec record) entryCursor {
	return entryCursor{rest: rec.payload, prefixed: rec.typ == recEntries}
}

// next returns the next entry, and false once there is none. Its Data
// aliases the payload. An entry that does not decode, or that does not
// follow the previous one's index, is an error.
func (c *entryCursor) next() (pb.Entry, bool, error) {
	if len(c.rest) == 0 {
		if !c.started {
			return pb.Entry{}, false, errors.New("entries record holds no entry")
		}
		return pb.Entry{}, false, nil
	}
	p := c.rest
	if c.prefixed {
		if len(p) < 4 {
			return pb.Entry{}, false, fmt.Errorf("%d bytes left in an entries record, too few for a length", len(p))
		}
		n := binary.LittleEndian.Uint32(p[:4])
		if uint64(n) > uint64(len(p)-4) {
			return pb.Entry{}, false, fmt.Errorf("entry of %d bytes in the %d left of an entries record", n, len(p)-4)
		}
		p, c.rest = p[4:4+n], p[4+n:]
	} else {
		c.rest = nil
	}
	e, err := decodeEntry(p)
	if err != nil {
		return pb.Entry{}, false, err
	}
	if c.started && e.Index != c.prev+1 {
		return pb.Entry{}, false, fmt.Errorf("entry %d follows entry %d in one record", e.Index, c.prev)
	}
	c.prev, c.started = e.Index, true
	return e, true, nil
}

// knownEntryType reports whether t is an entry type raftpb defines.
func knownEntryType(t pb.EntryType) bool {
	return t >= pb.EntryNormal && t <= pb.EntryConfChangeV2
}

// HardState payload: term, vote, commit.
const hardStateSize = 24

func appendHardState(buf []byte, hs pb.HardState) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, hs.Term)
	buf = binary.LittleEndian.AppendUint64(buf, hs.Vote)
	return binary.LittleEndian.AppendUint64(buf, hs.Commit)
}

func decodeHardState(p []byte) (pb.HardState, error) {
	if len(p) != hardStateSize {
		return pb.HardState{}, fmt.Errorf("hardstate payload of %d bytes, want %d", len(p), hardStateSize)
	}
	return pb.HardState{
		Term:   binary.LittleEndian.Uint64(p[0:8]),
		Vote:   binary.LittleEndian.Uint64(p[8:16]),
		Commit: binary.LittleEndian.Uint64(p[16:24]),
	}, nil
}

func appendHardStateRecord(buf []byte, hs pb.HardState) []byte {
	buf, at := beginRecord(buf, recHardState)
	buf = appendHardState(buf, hs)
	endRecord(buf, at)
	return buf
}

// appendSnapMeta appends the snapshot metadata's protobuf encoding.
func appendSnapMeta(buf []byte, m *pb.SnapshotMetadata) []byte {
	n := m.Size()
	buf = append(buf, make([]byte, n)...)
	if _, err := m.MarshalToSizedBuffer(buf[len(buf)-n:]); err != nil {
		// Marshalling into a buffer of the reported size cannot fail.
		panic(fmt.Sprintf("wal: encoding snapshot metadata %v: %v", m, err))
	}
	return buf
}

func decodeSnapMeta(p []byte) (pb.SnapshotMetadata, error) {
	var m pb.SnapshotMetadata
	if err := m.Unmarshal(p); err != nil {
		return pb.SnapshotMetadata{}, fmt.Errorf("snapshot metadata: %w", err)
	}
	return m, nil
}

func appendSnapRecord(buf []byte, typ recordType, m *pb.SnapshotMetadata) []byte {
	buf, at := beginRecord(buf, typ)
	buf = appendSnapMeta(buf, m)
	endRecord(buf, at)
	return buf
}

func appendCompactRecord(buf []byte, index, term uint64) []byte {
	buf, at := beginRecord(buf, recCompact)
	buf = binary.LittleEndian.AppendUint64(buf, index)
	buf = binary.LittleEndian.AppendUint64(buf, term)
	endRecord(buf, at)
	return buf
}

func decodeCompact(p []byte) (index, term uint64, err error) {
	if len(p) != 16 {
		return 0, 0, fmt.Errorf("compact payload of %d bytes, want 16", len(p))
	}
	return binary.LittleEndian.Uint64(p[0:8]), binary.LittleEndian.Uint64(p[8:16]), nil
}

// baseRecord is the state of the store when a segment was started, so that
// the segments before it can be deleted once compaction has passed them.
// The entries in (compactIndex, lastIndex] were then in earlier segments;
// replay treats them as unknown until a later record overwrites or compacts
// them (see logIndex.start).
type baseRecord struct {
	compactIndex, compactTerm uint64
	lastIndex                 uint64
	hardState                 pb.HardState
	snap                      pb.SnapshotMetadata
}

// Base payload: compactIndex, compactTerm, lastIndex (8 bytes each), the
// HardState payload, then the snapshot metadata's protobuf encoding.
const baseFixedSize = 24 + hardStateSize

func appendBaseRecord(buf []byte, b *baseRecord) []byte {
	buf, at := beginRecord(buf, recBase)
	buf = binary.LittleEndian.AppendUint64(buf, b.compactIndex)
	buf = binary.LittleEndian.AppendUint64(buf, b.compactTerm)
	buf = binary.LittleEndian.AppendUint64(buf, b.lastIndex)
	buf = appendHardState(buf, b.hardState)
	buf = appendSnapMeta(buf, &b.snap)
	endRecord(buf, at)
	return buf
}

func decodeBase(p []byte) (baseRecord, error) {
	if len(p) < baseFixedSize {
		return baseRecord{}, fmt.Errorf("base payload of %d bytes is shorter than %d", len(p), baseFixedSize)
	}
	b := baseRecord{
		compactIndex: binary.LittleEndian.Uint64(p[0:8]),
		compactTerm:  binary.LittleEndian.Uint64(p[8:16]),
		lastIndex:    binary.LittleEndian.Uint64(p[16:24]),
	}
	var err error
	if b.hardState, err = decodeHardState(p[24:baseFixedSize]); err != nil {
		return baseRecord{}, err
	}
	if b.snap, err = decodeSnapMeta(p[baseFixedSize:]); err != nil {
		return baseRecord{}, err
	}
	return b, nil
}

func crc32c(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }
