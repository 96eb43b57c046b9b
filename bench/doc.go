// Package bench is the root of the module that compares this library with
// go.etcd.io/raft/v3 v3.6.0 through one set of exported-API benchmarks.
//
//   - ours: the benchmarks, compiled against this checkout (the module's
//     replace directive points at ..); the source of truth.
//   - etcd: the same files generated with the imports pointed at etcd-raft.
//     Regenerate with `go generate` here after changing ours.
//   - floor: the least work the replication contract forces, with plain
//     data structures, as a yardstick for both.
//   - cmd/compare: runs all three in alternating rounds and prints the
//     ratios, their spread and the geometric mean.
//
// See README.md in this directory for the commands.
package bench

//go:generate go run ./cmd/gensuite -src ours -dst etcd
