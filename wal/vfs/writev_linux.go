package vfs

import (
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// maxIovecs is the most buffers one writev(2) takes on Linux (IOV_MAX).
const maxIovecs = 1024

// WriteVec appends the concatenation of bufs with writev(2), in as few
// calls as it takes. It does not change bufs.
func (f osFile) WriteVec(bufs [][]byte) (int, error) {
	fd := f.Fd()
	iovs := make([]syscall.Iovec, 0, min(len(bufs), maxIovecs))
	// skip is how much of bufs[0] is already written.
	total, skip := 0, 0
	for {
		iovs = iovs[:0]
		for k, b := range bufs {
			if k == 0 {
				b = b[skip:]
			}
			if len(iovs) == maxIovecs {
				break
			}
			if len(b) > 0 {
				iov := syscall.Iovec{Base: &b[0]}
				iov.SetLen(len(b))
				iovs = append(iovs, iov)
			}
		}
		if len(iovs) == 0 {
			return total, nil
		}
		n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
		runtime.KeepAlive(bufs)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return total, &os.PathError{Op: "writev", Path: f.Name(), Err: errno}
		case n == 0:
			return total, &os.PathError{Op: "writev", Path: f.Name(), Err: io.ErrShortWrite}
		}
		total += int(n)
		// Step past what was written: whole buffers, then part of one.
		for left := int(n); left > 0; {
			if k := len(bufs[0]) - skip; k <= left {
				left -= k
				bufs, skip = bufs[1:], 0
			} else {
				skip += left
				left = 0
			}
		}
	}
}
