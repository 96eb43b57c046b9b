//go:build !linux

package vfs

import "os"

// datasync flushes f to stable storage; where fdatasync(2) is not available
// it is a full fsync.
func datasync(f *os.File) error { return f.Sync() }
