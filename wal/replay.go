package wal

// Recovery when a Store opens: listing the directory, choosing the segments
// to replay, replaying each one's records into the log index and the saved
// state, cutting a torn tail off the last segment, and reporting any other
// damage as a *CorruptError.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// dirListing is what recover finds in the directory.
type dirListing struct {
	segs  []uint64 // sorted
	snaps []string
	tmps  []string
}

func parseHex(s string) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return v, err == nil
}

func (s *Store) list() (dirListing, error) {
	names, err := s.fs.List(s.dir)
	if err != nil {
		return dirListing{}, err
	}
	var l dirListing
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".tmp"):
			l.tmps = append(l.tmps, n)
		case strings.HasSuffix(n, ".wal"):
			if seq, ok := parseHex(strings.TrimSuffix(n, ".wal")); ok {
				l.segs = append(l.segs, seq)
			}
		case strings.HasSuffix(n, ".snap"):
			l.snaps = append(l.snaps, n)
		}
	}
	sort.Slice(l.segs, func(i, j int) bool { return l.segs[i] < l.segs[j] })
	return l, nil
}

// recover builds the store's state from the directory (see Open).
func (s *Store) recover() error {
	if err := s.fs.MkdirAll(s.dir); err != nil {
		return err
	}
	// NB: the directory may have just been created; its name must be
	// durable before anything in it is.
	if err := s.fs.SyncDir(filepath.Dir(s.dir)); err != nil {
		return err
	}
	l, err := s.list()
	if err != nil {
		return err
	}
	var garbage []string
	// Segments are removed oldest first but a crash may persist the
	// removals in any order: replay from the segment after the last gap.
	from := 0
	for i := 1; i < len(l.segs); i++ {
		if l.segs[i] != l.segs[i-1]+1 {
			from = i
		}
	}
	for _, seq := range l.segs[:from] {
		garbage = append(garbage, segName(seq))
	}
	if from == len(l.segs) {
		if err := s.createFirstSegment(); err != nil {
			return err
		}
	} else if err := s.replay(l.segs[from:]); err != nil {
		return err
	}
	if s.snap.Index > 0 {
		if _, err := s.readSnapFile(&s.snap, false); err != nil {
			return err
		}
	}
	current := snapName(s.snap.Term, s.snap.Index)
	for _, n := range l.snaps {
		if s.snap.Index == 0 || n != current {
			garbage = append(garbage, n)
		}
	}
	garbage = append(garbage, l.tmps...)
	for _, n := range garbage {
		if err := s.fs.Remove(filepath.Join(s.dir, n)); err != nil {
			return err
		}
	}
	if len(garbage) > 0 {
		return s.fs.SyncDir(s.dir)
	}
	return nil
}

// createFirstSegment starts an empty store.
func (s *Store) createFirstSegment() error {
	s.segs = []*segment{{seq: 1, path: filepath.Join(s.dir, segName(1))}}
	return s.initActive(s.segs[0])
}

// initActive (re)writes seg from scratch with a header and a base record
// for the current state, and makes it durable, name included.
func (s *Store) initActive(seg *segment) error {
	f, err := s.fs.Create(seg.path)
	if err != nil {
		return err
	}
	seg.f, seg.version = f, formatVersion
	b := appendSegmentHeader(nil, seg.seq)
	b = appendBaseRecord(b, s.baseState())
	if _, err := f.Write(b); err != nil {
		return err
	}
	seg.size, s.baseEnd = int64(len(b)), int64(len(b))
	if err := f.Sync(); err != nil {
		return err
	}
	return s.fs.SyncDir(s.dir)
}

// replay scans the segments seqs in order and rebuilds the state from their
// records.
func (s *Store) replay(seqs []uint64) error {
	var buf []byte
	for i, seq := range seqs {
		seg := &segment{seq: seq, path: filepath.Join(s.dir, segName(seq))}
		s.segs = append(s.segs, seg)
		last := i == len(seqs)-1
		var err error
		var torn int64
		buf, torn, err = s.replaySegment(seg, buf, i == 0, last)
		if err != nil {
			return err
		}
		if last {
			if err := s.openActive(seg, torn); err != nil {
				return err
			}
		}
	}
	if s.log.start != s.log.compactIndex {
		return &CorruptError{Path: s.segs[0].path, Offset: 0,
			Err: fmt.Errorf("entries (%d, %d] are missing: the segments holding them are gone", s.log.compactIndex, s.log.start)}
	}
	if s.hardState.Commit > s.log.last {
		p := s.active().path
		return &CorruptError{Path: p, Offset: s.active().size,
			Err: fmt.Errorf("commit index %d is past the last entry %d", s.hardState.Commit, s.log.last)}
	}
	if s.active().version < formatVersion {
		// NB: records of this version go to a segment of this version, so
		// that an older reader never meets one it does not know in a
		// segment whose header it accepts.
		if err := s.rotate(); err != nil {
			return err
		}
		return s.sync()
	}
	return nil
}

// openActive makes seg, the last segment, the active one, cutting it at
// torn (the end of its last whole record) if its tail was torn, or -1.
func (s *Store) openActive(seg *segment, torn int64) error {
	var err error
	switch {
	case torn < 0:
		seg.f, err = s.fs.OpenAppend(seg.path)
		return err
	case torn <= segmentHeaderSize || torn <= s.baseEnd:
		// Not even the base record is whole: start the segment over.
		return s.initActive(seg)
	}
	if seg.f, err = s.fs.OpenAppend(seg.path); err != nil {
		return err
	}
	if err := seg.f.Truncate(torn); err != nil {
		return err
	}
	if err := seg.f.Sync(); err != nil {
		return err
	}
	seg.size = torn
	return nil
}

// allZero reports whether p holds only zero bytes.
func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

// replaySegment reads seg whole into buf (returned for reuse) and replays
// its records. In the last segment, damage that is the last thing in the
// file (a record cut short, a final record whose checksum fails, or zero
// bytes up to the end) is a torn tail: torn is the offset to cut it at, or
// -1 if there is none. Any other damage is a *CorruptError.
func (s *Store) replaySegment(seg *segment, buf []byte, first, last bool) ([]byte, int64, error) {
	buf, err := s.readSegment(seg, buf)
	if err != nil {
		return buf, 0, err
	}
	hasHeader, err := s.checkSegmentHeader(seg, buf, first, last)
	if err != nil || !hasHeader {
		return buf, 0, err
	}
	torn, err := s.replayRecords(seg, buf, first, last)
	return buf, torn, err
}

// readSegment reads seg whole into buf, grown if it is too small, and
// records seg's size. It returns the buffer, for reuse, even on error.
func (s *Store) readSegment(seg *segment, buf []byte) ([]byte, error) {
	f, err := s.fs.Open(seg.path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return buf, err
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return buf, err
	}
	seg.size = size
	return buf, nil
}

// checkSegmentHeader checks the header of seg, read whole into buf, and
// reports whether there is one. A missing header (the file too short for
// one, or zeros where it goes) is what a crash leaves of a last segment
// whose header never became durable: there is nothing in it to replay,
// and if it is also the first segment nothing was ever durable, so the log
// starts empty. In any other segment a missing header, and anywhere a
// header that does not name seg, is a *CorruptError.
func (s *Store) checkSegmentHeader(seg *segment, buf []byte, first, last bool) (bool, error) {
	if len(buf) < segmentHeaderSize || allZero(buf[:segmentHeaderSize]) {
		if !last {
			return false, segmentCorrupt(seg, 0, errors.New("segment header is missing"))
		}
		if first {
			// Nothing was ever durable in this store: start empty.
			s.log.reset(0, 0)
		}
		return false, nil
	}
	seq, version, err := decodeSegmentHeader(buf)
	if err != nil {
		return false, segmentCorrupt(seg, 0, err)
	}
	if seq != seg.seq {
		return false, segmentCorrupt(seg, 0, fmt.Errorf("header says segment %d", seq))
	}
	seg.version = version
	return true, nil
}

// replayRecords replays the records of seg, read whole into buf, that
// follow its header: a base record first, then the others. It returns the
// offset of a torn tail in the last segment (a header and nothing durable
// after it counts as one), or -1 if there is none.
func (s *Store) replayRecords(seg *segment, buf []byte, first, last bool) (int64, error) {
	size := int64(len(buf))
	off := int64(segmentHeaderSize)
	for off < size {
		rec, n, err := decodeRecord(buf[off:])
		if err != nil {
			if last && tornTail(buf[off:], err) {
				return off, nil
			}
			return 0, segmentCorrupt(seg, off, err)
		}
		if off == segmentHeaderSize {
			if rec.typ != recBase {
				return 0, segmentCorrupt(seg, off, fmt.Errorf("segment starts with a %v record, not a base record", rec.typ))
			}
			err = s.replayBase(rec.payload, first)
			s.baseEnd = off + int64(n)
		} else if rec.typ == recEntries && seg.version < entriesVersion {
			err = fmt.Errorf("%v record in a segment of format version %d", rec.typ, seg.version)
		} else {
			err = s.replayRecord(rec, seg.seq, off)
		}
		if err != nil {
			return 0, segmentCorrupt(seg, off, err)
		}
		off += int64(n)
	}
	if size == segmentHeaderSize {
		if !last {
			return 0, segmentCorrupt(seg, off, errors.New("segment has no base record"))
		}
		return off, nil
	}
	return -1, nil
}

// segmentCorrupt returns the *CorruptError for damage err at offset off of
// seg.
func segmentCorrupt(seg *segment, off int64, err error) error {
	return &CorruptError{Path: seg.path, Offset: off, Err: err}
}

// tornTail reports whether the damaged record at the start of rest, the
// remainder of the last segment, is where a write was cut by a crash.
func tornTail(rest []byte, err error) bool {
	if errors.Is(err, errShortRecord) || allZero(rest) {
		return true
	}
	if errors.Is(err, errChecksum) && len(rest) >= recordHeaderSize {
		n := int64(uint32(rest[4]) | uint32(rest[5])<<8 | uint32(rest[6])<<16 | uint32(rest[7])<<24)
		return recordHeaderSize+n == int64(len(rest))
	}
	return false
}

// replayBase applies a segment's base record: the first retained segment's
// sets the state, the others must agree with the replay so far.
func (s *Store) replayBase(p []byte, first bool) error {
	b, err := decodeBase(p)
	if err != nil {
		return err
	}
	if b.compactIndex > b.lastIndex {
		return fmt.Errorf("base record has compact index %d past the last index %d", b.compactIndex, b.lastIndex)
	}
	if first {
		s.hardState, s.snap = b.hardState, b.snap
		s.log.reset(b.compactIndex, b.compactTerm)
		// The entries (compactIndex, lastIndex] are in deleted segments.
		s.log.start, s.log.last = b.lastIndex, b.lastIndex
		return nil
	}
	if b.compactIndex != s.log.compactIndex || b.lastIndex != s.log.last || b.hardState != s.hardState ||
		b.snap.Index != s.snap.Index || b.snap.Term != s.snap.Term {
		return fmt.Errorf("base record (compact %d, last %d, %v, snapshot %d) disagrees with the log before it (compact %d, last %d, %v, snapshot %d)",
			b.compactIndex, b.lastIndex, b.hardState, b.snap.Index, s.log.compactIndex, s.log.last, s.hardState, s.snap.Index)
	}
	return nil
}

// replayRecord applies one record, checking it as the write that produced
// it was checked.
func (s *Store) replayRecord(rec record, seq uint64, off int64) error {
	switch rec.typ {
	case recEntry, recEntries:
		c := newEntryCursor(rec)
		for {
			e, ok, err := c.next()
			if err != nil || !ok {
				return err
			}
			if err := s.replayEntry(e.Index, e.Term, seq, off); err != nil {
				return err
			}
		}
	case recHardState:
		hs, err := decodeHardState(rec.payload)
		if err != nil {
			return err
		}
		if hs.Term < s.hardState.Term {
			return fmt.Errorf("hardstate term %d is below the previous %d", hs.Term, s.hardState.Term)
		}
		s.hardState = hs
	case recSnapApplied, recSnapCreated:
		m, err := decodeSnapMeta(rec.payload)
		if err != nil {
			return err
		}
		if m.Index <= s.snap.Index {
			return fmt.Errorf("snapshot %d is not newer than snapshot %d", m.Index, s.snap.Index)
		}
		if rec.typ == recSnapApplied {
			s.log.reset(m.Index, m.Term)
		} else if err := s.checkKnown(m.Index, m.Term); err != nil {
			return err
		}
		s.snap = m
	case recCompact:
		c, t, err := decodeCompact(rec.payload)
		if err != nil {
			return err
		}
		if c <= s.log.compactIndex || c > s.log.last || c > s.snap.Index {
			return fmt.Errorf("compaction to %d outside (%d, min(last %d, snapshot %d)]", c, s.log.compactIndex, s.log.last, s.snap.Index)
		}
		if err := s.checkKnown(c, t); err != nil {
			return err
		}
		s.log.compact(c, t)
	case recBase:
		return errors.New("base record inside a segment")
	default:
		return fmt.Errorf("unexpected %v record", rec.typ)
	}
	return nil
}

// checkKnown checks that entry i, if its term is known, has term t.
func (s *Store) checkKnown(i, t uint64) error {
	if i > s.log.last {
		return fmt.Errorf("index %d is past the last entry %d", i, s.log.last)
	}
	if got, ok := s.log.term(i); ok && got != t {
		return fmt.Errorf("entry %d has term %d, the record says %d", i, got, t)
	}
	return nil
}

// replayEntry appends entry (i, t), found at off in segment seq.
func (s *Store) replayEntry(i, t, seq uint64, off int64) error {
	l := &s.log
	switch {
	case i <= l.compactIndex:
		return fmt.Errorf("entry %d is at or below the compacted index %d", i, l.compactIndex)
	case i > l.last+1:
		return fmt.Errorf("entry %d leaves a gap after the last entry %d", i, l.last)
	case off > math.MaxUint32:
		return fmt.Errorf("entry %d at offset %d past the largest segment", i, off)
	}
	if prev, ok := l.term(i - 1); ok && t < prev {
		return fmt.Errorf("entry %d has term %d, below the term %d of the entry before it", i, t, prev)
	}
	if i <= l.start {
		l.forget(i - 1)
	} else {
		l.truncate(i)
	}
	l.append(i, t, seq, uint32(off))
	return nil
}
