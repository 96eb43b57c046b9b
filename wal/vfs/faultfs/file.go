package faultfs

// File content and open handles: each inode's current and synced bytes with
// the writes and truncations not yet synced, and the File a handle gives,
// which fails once a crash has outdated it.

import (
	"errors"
	"io"
	"os"
)

// inode is a file's content. Invariant: applying log to synced in order
// gives data.
type inode struct {
	data   []byte
	synced []byte
	log    []fileOp
}

// fileOp is an unsynced write (data != nil) or truncation to size.
type fileOp struct {
	data []byte
	size int64
}

func resize(data []byte, size int64) []byte {
	if int64(len(data)) >= size {
		return data[:size:size]
	}
	return append(data[:len(data):len(data)], make([]byte, size-int64(len(data)))...)
}

func (n *inode) write(p []byte) {
	n.data = append(n.data, p...)
	n.log = append(n.log, fileOp{data: append([]byte(nil), p...)})
}

func (n *inode) truncate(size int64) {
	n.data = resize(n.data, size)
	n.log = append(n.log, fileOp{size: size})
}

func (n *inode) sync() {
	n.synced = n.data[:len(n.data):len(n.data)]
	n.log = nil
}

func (fs *FS) handle(node *inode, name string, writable bool) *file {
	return &file{fs: fs, node: node, name: name, gen: fs.gen, writable: writable}
}

// file is an open handle. It keeps its inode even if the name is removed
// or replaced, as POSIX handles do.
type file struct {
	fs       *FS
	node     *inode
	name     string
	gen      int
	writable bool
	closed   bool
}

func (f *file) usable(op Op) error {
	if f.gen != f.fs.gen {
		return &os.PathError{Op: op.Kind.String(), Path: f.name, Err: ErrCrashed}
	}
	if f.closed {
		return &os.PathError{Op: op.Kind.String(), Path: f.name, Err: os.ErrClosed}
	}
	if !f.writable && op.Kind != OpRead {
		return &os.PathError{Op: op.Kind.String(), Path: f.name, Err: os.ErrPermission}
	}
	return f.fs.check(op)
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable(Op{Kind: OpRead, Path: f.name}); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: errors.New("faultfs: negative offset")}
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *file) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable(Op{Kind: OpWrite, Path: f.name, Bytes: len(p)}); err != nil {
		var short *ShortWrite
		if errors.As(err, &short) && f.gen == f.fs.gen && !f.closed {
			n := clamp(short.N, len(p))
			f.node.write(p[:n])
			return n, err
		}
		return 0, err
	}
	f.node.write(p)
	return len(p), nil
}

func (f *file) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable(Op{Kind: OpTruncate, Path: f.name}); err != nil {
		return err
	}
	if size < 0 {
		return &os.PathError{Op: "truncate", Path: f.name, Err: errors.New("faultfs: negative size")}
	}
	f.node.truncate(size)
	return nil
}

func (f *file) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable(Op{Kind: OpSync, Path: f.name}); err != nil {
		return err
	}
	f.node.sync()
	return nil
}

func (f *file) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.gen != f.fs.gen {
		return 0, &os.PathError{Op: "stat", Path: f.name, Err: ErrCrashed}
	}
	return int64(len(f.node.data)), nil
}

func (f *file) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &os.PathError{Op: "close", Path: f.name, Err: os.ErrClosed}
	}
	f.closed = true
	return nil
}
