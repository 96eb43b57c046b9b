// Command gensuite regenerates the etcd-raft copy of the comparison suite
// (etcd, in the bench module's root) from its source (ours).
// `go generate` in the bench module's root runs it; see the package
// gensuite for what changes between the copies.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/quorate/raft/bench/internal/gensuite"
)

func main() {
	src := flag.String("src", "ours", "directory of the suite's source")
	dst := flag.String("dst", "etcd", "directory of the generated etcd-raft copy")
	flag.Parse()
	if err := gensuite.Write(*src, *dst); err != nil {
		fmt.Fprintln(os.Stderr, "gensuite:", err)
		os.Exit(1)
	}
}
