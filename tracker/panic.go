package tracker

import "fmt"

// panicf reports a broken internal invariant. It is the only place this
// package panics; the message must carry the values involved.
func panicf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
