package wal

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs"
)

// readPage is the least readEntries reads from a segment at a time, and
// maxReadAhead the most it reads beyond the record it needs.
const (
	readPage     = 4 << 10
	maxReadAhead = 1 << 20
)

// lastRecordRead is how much readEntries reads from the offset of the
// record holding the last entry it wants: all of an entries record, or a
// page, whichever is more.
const lastRecordRead = max(readPage, recordHeaderSize+entriesRecordBytes)

func (s *Store) segment(seq uint64) *segment {
	// Few segments are retained, and the recent ones are read most.
	for i := len(s.segs) - 1; i >= 0; i-- {
		if s.segs[i].seq == seq {
			return s.segs[i]
		}
	}
	panic(fmt.Sprintf("wal: segment %d is not retained", seq))
}

func (s *Store) active() *segment { return s.segs[len(s.segs)-1] }

// file returns the segment's file, opening it for reading if needed.
func (seg *segment) file(fs vfs.FS) (vfs.File, error) {
	if seg.f == nil {
		f, err := fs.Open(seg.path)
		if err != nil {
			return nil, err
		}
		seg.f = f
	}
	return seg.f, nil
}

// readEntries reads the entries [lo, hi) from their segments, stopping
// once their total Size would exceed maxSize (but returning at least one).
// It returns them with their total Size. The entries' data alias buffers
// allocated for this call.
func (s *Store) readEntries(lo, hi, maxSize uint64) ([]pb.Entry, uint64, error) {
	ents := make([]pb.Entry, 0, min(hi-lo, 1024))
	var size uint64
	var r chunkReader
	for i := lo; i < hi; i++ {
		seq, off, more := s.log.locate(i)
		seg := s.segment(seq)
		if r.seg != seg {
			f, err := seg.file(s.fs)
			if err != nil {
				return nil, 0, err
			}
			r = chunkReader{seg: seg, f: f}
		}
		// Should the window need filling, read up to the last wanted entry
		// of this segment and the record holding it, which may hold a
		// batch of entries, within maxSize.
		_, lastOff, _ := s.log.locate(min(i+more, hi-1))
		r.hint = min(int64(lastOff)-int64(off)+lastRecordRead, int64(min(maxSize, maxReadAhead)))
		e, err := r.entryAt(int64(off), i)
		if err != nil {
			return nil, 0, err
		}
		size += uint64(e.Size())
		if size > maxSize && len(ents) > 0 {
			break
		}
		ents = append(ents, e)
	}
	return ents[:len(ents):len(ents)], size, nil
}

// chunkReader reads records of one segment through a window of it.
type chunkReader struct {
	seg *segment
	f   vfs.File
	// win holds the segment's bytes from winOff on.
	win    []byte
	winOff int64
	// hint is how many bytes to read when the window misses.
	hint int64
	// cur walks the entry record at curOff, already checked, if hasCur;
	// the entries of one record are read in order, so each record is
	// decoded and checked once.
	cur    entryCursor
	curOff int64
	hasCur bool
}

// window returns the segment's bytes [off, off+n), reading hint bytes (at
// least n and readPage, at most what the segment has) when they are not in
// the window.
func (r *chunkReader) window(off int64, n int) ([]byte, error) {
	if off >= r.winOff && off+int64(n) <= r.winOff+int64(len(r.win)) {
		return r.win[off-r.winOff : off-r.winOff+int64(n)], nil
	}
	if off+int64(n) > r.seg.size {
		return nil, &CorruptError{Path: r.seg.path, Offset: off, Err: errShortRecord}
	}
	want := min(max(int64(n), r.hint, readPage), r.seg.size-off)
	buf := make([]byte, want)
	if _, err := r.f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	r.win, r.winOff = buf, off
	return buf[:n], nil
}

// entryAt returns entry i from the entry or entries record at off, which
// must hold it.
func (r *chunkReader) entryAt(off int64, i uint64) (pb.Entry, error) {
	corrupt := func(err error) error { return &CorruptError{Path: r.seg.path, Offset: off, Err: err} }
	if !r.hasCur || r.curOff != off || (r.cur.started && r.cur.prev >= i) {
		c, err := r.entryRecord(off, i)
		if err != nil {
			return pb.Entry{}, err
		}
		r.cur, r.curOff, r.hasCur = c, off, true
	}
	for {
		e, ok, err := r.cur.next()
		switch {
		case err != nil:
			r.hasCur = false
			return pb.Entry{}, corrupt(err)
		case !ok || e.Index > i:
			r.hasCur = false
			return pb.Entry{}, corrupt(fmt.Errorf("record does not hold entry %d", i))
		case e.Index == i:
			return e, nil
		}
	}
}

// entryRecord reads and checks the record at off, which must be an entry
// or entries record (holding entry i), and returns a cursor over it.
func (r *chunkReader) entryRecord(off int64, i uint64) (entryCursor, error) {
	corrupt := func(err error) error { return &CorruptError{Path: r.seg.path, Offset: off, Err: err} }
	h, err := r.window(off, recordHeaderSize)
	if err != nil {
		return entryCursor{}, err
	}
	n := int(uint32(h[4]) | uint32(h[5])<<8 | uint32(h[6])<<16 | uint32(h[7])<<24)
	if n > maxPayload {
		return entryCursor{}, corrupt(errRecordHeader)
	}
	buf, err := r.window(off, recordHeaderSize+n)
	if err != nil {
		return entryCursor{}, err
	}
	rec, _, err := decodeRecord(buf)
	if err != nil {
		return entryCursor{}, corrupt(err)
	}
	if rec.typ != recEntry && rec.typ != recEntries {
		return entryCursor{}, corrupt(fmt.Errorf("%v record where entry %d should be", rec.typ, i))
	}
	return newEntryCursor(rec), nil
}

// fail records err as the store's failure and returns the error every
// later write returns.
func (s *Store) fail(err error) error {
	s.failed = fmt.Errorf("%w: %w", ErrFailed, err)
	return s.failed
}

// writable returns why the store cannot be written to, if it cannot.
func (s *Store) writable() error {
	if s.closed {
		return ErrClosed
	}
	return s.failed
}

// appendRecords writes w, whole records, at the end of the log, starting a
// new segment first if w would take the active one past segmentBytes. It
// returns the segment and the offset w starts at. It does not sync.
func (s *Store) appendRecords(w *writeBuf) (*segment, int64, error) {
	seg := s.active()
	if seg.size+int64(w.len()) > s.segmentBytes && seg.size > s.baseEnd {
		if err := s.rotate(); err != nil {
			return nil, 0, err
		}
		seg = s.active()
	}
	at := seg.size
	var n int
	var err error
	if len(w.splices) == 0 {
		n, err = seg.f.Write(w.buf)
	} else {
		s.pieces = w.pieces(s.pieces[:0])
		n, err = vfs.WriteVec(seg.f, s.pieces)
		clear(s.pieces)
	}
	seg.size += int64(n)
	s.unsynced = true
	if err != nil {
		return nil, 0, err
	}
	return seg, at, nil
}

// rotate syncs the active segment and starts a new one, whose base record
// states the store's current state. NB: the old segment (and its name) is
// synced first so that a crash cannot keep the new segment while losing the
// end of the old one: only the last segment may have a torn tail.
func (s *Store) rotate() error {
	if err := s.sync(); err != nil {
		return err
	}
	seq := s.active().seq + 1
	seg := &segment{seq: seq, path: filepath.Join(s.dir, segName(seq)), version: formatVersion}
	f, err := s.fs.Create(seg.path)
	if err != nil {
		return err
	}
	seg.f = f
	s.segs = append(s.segs, seg)
	s.dirUnsynced = true
	b := appendSegmentHeader(nil, seq)
	b = appendBaseRecord(b, s.baseState())
	n, err := f.Write(b)
	seg.size = int64(n)
	s.unsynced = true
	s.baseEnd = int64(len(b))
	return err
}

// baseState is the base record for a segment started now.
func (s *Store) baseState() *baseRecord {
	return &baseRecord{
		compactIndex: s.log.compactIndex,
		compactTerm:  s.log.compactTerm,
		lastIndex:    s.log.last,
		hardState:    s.hardState,
		snap:         s.snap,
	}
}

// sync makes everything written so far durable: the active segment's
// content and the names of new segments.
func (s *Store) sync() error {
	if s.unsynced {
		if err := s.active().f.Sync(); err != nil {
			return err
		}
		s.unsynced = false
	}
	if s.dirUnsynced {
		if err := s.fs.SyncDir(s.dir); err != nil {
			return err
		}
		s.dirUnsynced = false
	}
	return nil
}

// removeObsolete removes, after a sync, the files that durable records made
// obsolete: old snapshot files, and the segments before the one holding
// the first retained entry. NB: those segments may go because the segment
// after them starts with a base record that restates everything they
// decided, and every entry they hold has been compacted by a record that
// is now durable. A crash in the middle of the removals may leave any of
// them; Open then replays from the last segment after a gap in the
// sequence numbers.
func (s *Store) removeObsolete() error {
	for len(s.obsolete) > 0 {
		if err := s.fs.Remove(s.obsolete[0]); err != nil {
			return err
		}
		s.obsolete = s.obsolete[1:]
	}
	keep, ok := s.log.firstSeq()
	if !ok {
		keep = s.active().seq
	}
	for len(s.segs) > 1 && s.segs[0].seq < keep {
		seg := s.segs[0]
		if seg.f != nil {
			if err := seg.f.Close(); err != nil {
				return err
			}
			seg.f = nil
		}
		if err := s.fs.Remove(seg.path); err != nil {
			return err
		}
		s.segs[0] = nil
		s.segs = s.segs[1:]
	}
	return nil
}
