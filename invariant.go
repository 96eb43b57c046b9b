package raft

import "fmt"

// assertf panics when cond is false. It guards internal invariants only:
// reaching it means the library or its Storage is broken and continuing could
// corrupt the log. The message must carry the values involved.
func assertf(cond bool, format string, args ...any) {
	if !cond {
		panic(fmt.Sprintf("raft: invariant violated: "+format, args...))
	}
}
