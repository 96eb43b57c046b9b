package wal

import (
	"errors"
	"fmt"

	"github.com/quorate/raft/wal/vfs"
)

// Defaults and bounds of Options.
const (
	DefaultSegmentBytes = 64 << 20
	MinSegmentBytes     = 4 << 10
	MaxSegmentBytes     = 1 << 30
	DefaultCacheBytes   = 8 << 20
)

// Options configure a Store. The zero value is valid: the operating
// system's file system, 64 MiB segments and an 8 MiB entry cache.
type Options struct {
	// FS is the file system the store lives on; nil means vfs.OS.
	FS vfs.FS
	// SegmentBytes is the size at which the store starts a new segment
	// file: a write that would take the current segment past it goes to a
	// new one (a segment holding a single record larger than this is
	// allowed). 0 means DefaultSegmentBytes; otherwise it must lie in
	// [MinSegmentBytes, MaxSegmentBytes].
	SegmentBytes int64
	// CacheBytes bounds the memory of the recent entries kept in memory
	// (their data plus 56 bytes each); reads of them do not touch the
	// disk. 0 means DefaultCacheBytes; a negative value disables the
	// cache.
	CacheBytes int64
}

// validated returns a copy of o with defaults filled in, or an error naming
// the invalid field.
func (o Options) validated() (Options, error) {
	if o.FS == nil {
		o.FS = vfs.OS
	}
	switch {
	case o.SegmentBytes == 0:
		o.SegmentBytes = DefaultSegmentBytes
	case o.SegmentBytes < MinSegmentBytes || o.SegmentBytes > MaxSegmentBytes:
		return o, fmt.Errorf("wal: Options.SegmentBytes %d is outside [%d, %d]", o.SegmentBytes, MinSegmentBytes, MaxSegmentBytes)
	}
	switch {
	case o.CacheBytes == 0:
		o.CacheBytes = DefaultCacheBytes
	case o.CacheBytes < 0:
		o.CacheBytes = 0
	}
	return o, nil
}

// ErrClosed is returned by every method of a closed Store.
var ErrClosed = errors.New("wal: store is closed")

// ErrFailed is wrapped by the error of every write to a Store after an I/O
// error (and by that error itself): what reached the disk is then unknown,
// so the store refuses to write more. Reads keep answering the state of
// the writes that reached the files: the last successful call's, or the
// failed call's if only its sync (or a file removal after it) failed.
// Close the store and Open it again to recover what is on disk.
var ErrFailed = errors.New("wal: store failed after an I/O error; reopen it")

// CorruptError reports damage in the store's files: which file, at which
// byte offset, and what is wrong. Open returns it for any damage other than
// a torn tail (see the package documentation); Entries and Snapshot return
// it for damage found when reading.
type CorruptError struct {
	Path   string
	Offset int64
	Err    error
}

// Error names the file, the offset and the damage.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt %s at offset %d: %v", e.Path, e.Offset, e.Err)
}

// Unwrap returns the damage found.
func (e *CorruptError) Unwrap() error { return e.Err }
