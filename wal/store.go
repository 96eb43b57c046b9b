package wal

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs"
)

// Store is a durable raft.Storage kept in one directory: a log of segment
// files and a file for the latest snapshot. Open it with Open; persist each
// Ready with Save, or each MsgStorageAppend with SaveAppends; take
// snapshots with CreateSnapshot and drop what they cover with Compact.
//
// A Store is safe for concurrent use: every method takes one lock. It
// starts no goroutine and no timer, so driving it from one goroutine is
// deterministic.
type Store struct {
	mu sync.Mutex

	fs           vfs.FS
	dir          string
	segmentBytes int64

	// hardState, snap and log are the state as of the last successful
	// write, which is also what a replay of the files written so far
	// rebuilds.
	hardState pb.HardState
	// snap is the metadata of the latest snapshot; Index 0 if none.
	// Invariant: log.compactIndex <= snap.Index <= log.last, except that
	// Open accepts a log that was compacted by an older snapshot.
	snap pb.SnapshotMetadata
	// snapData is the latest snapshot's data once snapLoaded.
	snapData   []byte
	snapLoaded bool
	log        logIndex
	cache      entryCache

	// segs are the retained segments, oldest first. The last one is the
	// active segment, open for appending. Invariant: len(segs) >= 1 and
	// seqs strictly increase while the store is open.
	segs []*segment
	// baseEnd is the size of the active segment up to its base record.
	baseEnd int64
	// unsynced is set while the active segment has writes not yet synced;
	// dirUnsynced while a segment created in dir has not had dir synced.
	unsynced, dirUnsynced bool
	// obsolete are files to remove once the next sync has made the
	// records that obsolete them durable.
	obsolete []string

	// w, offs and pieces are scratch space for one write: its bytes, for
	// each of its entries the offset in w of the record holding it, and
	// the pieces of w for the file system.
	w      writeBuf
	offs   []uint32
	pieces [][]byte

	// failed is set by the first I/O error of a write; all later writes
	// return it.
	failed error
	closed bool
}

var _ raft.Storage = (*Store)(nil)

// segment is one segment file. Invariant: size is the file's size as the
// store wrote it.
type segment struct {
	seq  uint64
	path string
	size int64
	// version is the format version of the segment's header: formatVersion
	// for a segment this store started, maybe an older one for a segment
	// Open found.
	version uint32
	// f is the file, opened for reading on first use, or for appending if
	// the segment is or was the active one.
	f vfs.File
}

func segName(seq uint64) string { return fmt.Sprintf("%016x.wal", seq) }

// Open opens the store in dir, creating the directory and an empty store if
// there is none, and recovers its state: it reads every segment once,
// removes a torn tail at the very end of the last one, and removes files
// left over from an interrupted write (temporary and obsolete snapshot
// files, segments already compacted away). Damage anywhere else is returned
// as a *CorruptError naming the file and offset; Open never skips data.
func Open(dir string, opts Options) (*Store, error) {
	opts, err := opts.validated()
	if err != nil {
		return nil, err
	}
	s := &Store{
		fs:           opts.FS,
		dir:          filepath.Clean(dir),
		segmentBytes: opts.SegmentBytes,
		cache:        entryCache{maxBytes: uint64(opts.CacheBytes)},
		w:            writeBuf{spliceLarge: true},
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// Close closes the store's files. It does not sync: everything a call
// reported durable already is. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	return s.closeFiles()
}

func (s *Store) closeFiles() error {
	var errs []error
	for _, seg := range s.segs {
		if seg.f != nil {
			errs = append(errs, seg.f.Close())
			seg.f = nil
		}
	}
	return errors.Join(errs...)
}

func (s *Store) usable() error {
	if s.closed {
		return ErrClosed
	}
	return nil
}

// InitialState implements raft.Storage: the last HardState saved and the
// ConfState of the latest snapshot.
func (s *Store) InitialState() (pb.HardState, pb.ConfState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return pb.HardState{}, pb.ConfState{}, err
	}
	return s.hardState, s.snap.ConfState, nil
}

// FirstIndex implements raft.Storage.
func (s *Store) FirstIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	return s.log.compactIndex + 1, nil
}

// LastIndex implements raft.Storage.
func (s *Store) LastIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	return s.log.last, nil
}

// Term implements raft.Storage. It answers from memory, for any retained
// entry, and does not allocate.
func (s *Store) Term(i uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	if i < s.log.compactIndex {
		return 0, raft.ErrCompacted
	}
	t, ok := s.log.term(i)
	if !ok {
		return 0, raft.ErrUnavailable
	}
	return t, nil
}

// Entries implements raft.Storage. Entries in the cache are returned
// without touching the disk or allocating (the slice aliases the cache and
// is capped so that appending to it copies); older ones are read from
// their segments, with their checksums verified. A read error or damage is
// returned as is (damage as a *CorruptError). Unlike MemoryStorage, it
// returns an error rather than panicking when hi > LastIndex()+1 or lo > hi.
func (s *Store) Entries(lo, hi, maxSize uint64) ([]pb.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	switch {
	case lo <= s.log.compactIndex:
		return nil, raft.ErrCompacted
	case lo > hi:
		return nil, fmt.Errorf("wal: Entries(%d, %d): lo > hi", lo, hi)
	case hi > s.log.last+1, s.log.last == s.log.compactIndex:
		return nil, raft.ErrUnavailable
	case lo == hi:
		return nil, nil
	}
	if ents := s.cache.get(lo, hi); ents != nil {
		return limitSize(ents, maxSize), nil
	}
	cacheFirst, ok := s.cache.first()
	diskHi := hi
	if ok && cacheFirst < hi {
		diskHi = cacheFirst
	}
	ents, size, err := s.readEntries(lo, diskHi, maxSize)
	if err != nil {
		return nil, err
	}
	if diskHi == hi || uint64(len(ents)) < diskHi-lo {
		return ents, nil
	}
	for _, e := range s.cache.get(diskHi, hi) {
		if size += uint64(e.Size()); size > maxSize {
			break
		}
		ents = append(ents, e)
	}
	return ents[:len(ents):len(ents)], nil
}

// limitSize keeps the entries of ents while their running total Size
// stays within maxSize; the first entry is always kept, so that a reader
// makes progress.
func limitSize(ents []pb.Entry, maxSize uint64) []pb.Entry {
	if maxSize == math.MaxUint64 {
		return ents
	}
	var total uint64
	for n := range ents {
		if total += uint64(ents[n].Size()); n > 0 && total > maxSize {
			return ents[:n:n]
		}
	}
	return ents
}

// Snapshot implements raft.Storage: the latest snapshot created or applied,
// or an empty one. Its data is read from its file on the first call after
// Open (and checked against its checksum), then kept in memory.
func (s *Store) Snapshot() (pb.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return pb.Snapshot{}, err
	}
	if s.snap.Index == 0 {
		return pb.Snapshot{}, nil
	}
	if !s.snapLoaded {
		data, err := s.readSnapFile(&s.snap, true)
		if err != nil {
			return pb.Snapshot{}, err
		}
		s.snapData, s.snapLoaded = data, true
	}
	return pb.Snapshot{Metadata: s.snap, Data: s.snapData}, nil
}
