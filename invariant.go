package raft

import "fmt"

// invariantBroken panics: an internal invariant does not hold, which means
// the library or its Storage is broken and going on could corrupt the log.
// Callers test the invariant themselves and call it only when it fails,
//
//	if commit > last {
//		invariantBroken("commit index %d is past the last index %d", commit, last)
//	}
//
// so that its arguments are boxed (and allocated) only on the way to the
// panic. The message must carry the values involved.
func invariantBroken(format string, args ...any) {
	panic(fmt.Sprintf("raft: invariant violated: "+format, args...))
}
