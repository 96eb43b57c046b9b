package wal

// Encoding one write: its records, built in a buffer, except for the data
// of large entries, which is passed to the file system where it lies.

import (
	"encoding/binary"
	"hash/crc32"
	"slices"

	pb "github.com/quorate/raft/raftpb"
)

// spliceMinData is the least data an entry must have for a write to pass it
// to the file system as it is (see writeBuf) rather than copy it into the
// write's buffer: below it, the copy costs less than one more buffer for
// the system call.
const spliceMinData = 2 << 10

// writeBuf is the bytes of one write: buf, with the data of large entries
// spliced in where they go rather than copied into it. A write of 256
// entries of 4 KiB thus copies none of their megabyte in memory before the
// system call copies it to the file.
type writeBuf struct {
	buf []byte
	// splices are the data spliced into buf, in order. Invariant: their
	// offs never decrease, and spliced is the sum of their lengths.
	splices []splice
	spliced int
	// spliceLarge is set if the data of entries of at least spliceMinData
	// is to be spliced; unset, buf holds every byte.
	spliceLarge bool
}

// splice is data that goes between buf[:off] and buf[off:].
type splice struct {
	off  int
	data []byte
}

// reset empties w, keeping its buffers, and drops its references to
// entries' data.
func (w *writeBuf) reset() {
	clear(w.splices)
	w.buf, w.splices, w.spliced = w.buf[:0], w.splices[:0], 0
}

// len returns the number of bytes w holds.
func (w *writeBuf) len() int { return len(w.buf) + w.spliced }

// pieces appends to dst the pieces of w in order, which together are its
// bytes.
func (w *writeBuf) pieces(dst [][]byte) [][]byte {
	at := 0
	for _, sp := range w.splices {
		if sp.off > at {
			dst = append(dst, w.buf[at:sp.off])
		}
		dst = append(dst, sp.data)
		at = sp.off
	}
	if at < len(w.buf) {
		dst = append(dst, w.buf[at:])
	}
	return dst
}

// appendEntryRecord appends a record holding e alone to buf.
func appendEntryRecord(buf []byte, e *pb.Entry) []byte {
	buf, _ = appendEntryRecords(buf, nil, *e)
	return buf
}

// appendEntryRecords appends records holding ents, which are consecutive,
// to buf, and to offs the offset in buf of the record holding each entry.
func appendEntryRecords(buf []byte, offs []uint32, ents ...pb.Entry) ([]byte, []uint32) {
	w := writeBuf{buf: buf}
	offs = w.appendEntries(offs, ents)
	return w.buf, offs
}

// appendEntries appends records holding ents, which are consecutive, and
// to offs the offset in w of the record holding each entry. Entries share
// an entries record while its payload stays within entriesRecordBytes; one
// alone gets an entry record. buf grows once for all of them, and every
// record is filled in place: the cost per entry is the copy of its data
// unless it is spliced, and the checksums are over whole records.
func (w *writeBuf) appendEntries(offs []uint32, ents []pb.Entry) []uint32 {
	n := len(ents) * (recordHeaderSize + 4 + entryHeaderSize)
	for i := range ents {
		if !w.splicing(&ents[i]) {
			n += len(ents[i].Data)
		}
	}
	w.buf = slices.Grow(w.buf, n)
	offs = slices.Grow(offs, len(ents))
	for len(ents) > 0 {
		// The payload of an entries record holding ents[:k].
		k, size := 1, 4+entryHeaderSize+len(ents[0].Data)
		for k < len(ents) && size+4+entryHeaderSize+len(ents[k].Data) <= entriesRecordBytes {
			size += 4 + entryHeaderSize + len(ents[k].Data)
			k++
		}
		at := w.len()
		if k == 1 {
			w.appendRecord(recEntry, ents[:1], false)
		} else {
			w.appendRecord(recEntries, ents[:k], true)
		}
		for range k {
			offs = append(offs, uint32(at))
		}
		ents = ents[k:]
	}
	return offs
}

// splicing reports whether e's data is to be spliced rather than copied.
func (w *writeBuf) splicing(e *pb.Entry) bool {
	return w.spliceLarge && len(e.Data) >= spliceMinData
}

// appendRecord appends a record of type typ holding ents, each prefixed by
// its length if prefixed. buf must have room for it.
func (w *writeBuf) appendRecord(typ recordType, ents []pb.Entry, prefixed bool) {
	buf := w.buf
	at, firstSplice, splicedBefore := len(buf), len(w.splices), w.spliced
	buf = buf[:at+recordHeaderSize]
	// NB: buf is reused scratch space, so every header byte is written,
	// the reserved and group ones as zeros.
	h := buf[at:]
	binary.LittleEndian.PutUint32(h[8:12], uint32(typ))
	binary.LittleEndian.PutUint64(h[12:20], 0)
	for i := range ents {
		e := &ents[i]
		p := len(buf)
		if prefixed {
			p += 4
		}
		end := p + entryHeaderSize
		if !w.splicing(e) {
			end += len(e.Data)
		}
		buf = buf[:end]
		if prefixed {
			binary.LittleEndian.PutUint32(buf[p-4:p], uint32(entryHeaderSize+len(e.Data)))
		}
		binary.LittleEndian.PutUint64(buf[p:p+8], e.Index)
		binary.LittleEndian.PutUint64(buf[p+8:p+16], e.Term)
		binary.LittleEndian.PutUint32(buf[p+16:p+20], uint32(e.Type))
		if w.splicing(e) {
			w.splices = append(w.splices, splice{off: end, data: e.Data})
			w.spliced += len(e.Data)
		} else {
			copy(buf[p+entryHeaderSize:end], e.Data)
		}
	}
	w.buf = buf
	// The length and checksum cover the spliced data too.
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(buf)-at-recordHeaderSize+w.spliced-splicedBefore))
	crc, from := uint32(0), at+4
	for _, sp := range w.splices[firstSplice:] {
		crc = crc32.Update(crc, castagnoli, buf[from:sp.off])
		crc = crc32.Update(crc, castagnoli, sp.data)
		from = sp.off
	}
	binary.LittleEndian.PutUint32(h[0:4], crc32.Update(crc, castagnoli, buf[from:]))
}
