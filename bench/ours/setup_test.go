// Package suite is the comparison suite: benchmarks of the exported API that
// compile, unchanged but for their import paths, against this module and
// against go.etcd.io/raft/v3 v3.6.0.
//
// The files in this directory are the source. ../etcd holds copies generated
// from them by ../cmd/gensuite (run `go generate` in the bench module after
// any change here); a test in ../internal/gensuite fails while the copies are
// stale. Code here may therefore use only what both libraries export with the
// same meaning: package raft and package raftpb, nothing unexported.
//
// Every benchmark name is a path of key=value elements after the function
// name (e.g. BenchmarkProposeCycle/voters=3/entry=128B/batch=16), so that a
// result of one library pairs with the same name of the other, and a
// replication benchmark pairs with BenchmarkFloor of ../floor through its
// voters/entry/batch suffix.
package suite

import (
	"fmt"
	"math"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

const (
	// bootIndex and bootTerm locate the snapshot every replica starts from.
	// It holds the membership only, so logs begin at bootIndex+1.
	bootIndex = 1
	bootTerm  = 1

	// maxSizePerMsg is every replica's Config.MaxSizePerMsg: 1 MiB, which
	// is also the bound on committed entries per Ready. 256 entries of 4 KiB
	// exceed it, so that shape splits its appends as a real deployment would.
	maxSizePerMsg = 1 << 20
	// maxInflightMsgs is every replica's Config.MaxInflightMsgs.
	maxInflightMsgs = 256

	// defaultElectionTick and defaultHeartbeatTick are the tick counts of
	// every replica unless a benchmark keeps its timeouts out of reach.
	defaultElectionTick  = 10
	defaultHeartbeatTick = 1
)

// ticks is a replica's election and heartbeat timeout, in ticks.
type ticks struct {
	election, heartbeat int
}

var (
	// liveTicks are the usual timeouts: a leader sends heartbeats on every
	// tick.
	liveTicks = ticks{election: defaultElectionTick, heartbeat: defaultHeartbeatTick}
	// farTicks put every timeout out of reach of any benchmark, so that a
	// tick does nothing but count: what Tick costs on an idle replica.
	farTicks = ticks{election: math.MaxInt32, heartbeat: math.MaxInt32 - 1}
)

// shape is the size of one replication benchmark: the voters of the group,
// the payload size of each entry and the entries proposed per op.
type shape struct {
	voters, entry, batch int
}

// name returns the shape as benchmark name elements,
// "voters=V/entry=E/batch=B", the suffix BenchmarkFloor shares.
func (s shape) name() string {
	return fmt.Sprintf("voters=%d/entry=%s/batch=%d", s.voters, sizeName(s.entry), s.batch)
}

// sizeName writes a byte count as the benchmark names do: 128B, 4KiB.
func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

// grid returns every combination of the given voters, entry sizes and
// batches, in that nesting order.
func grid(voters, entries, batches []int) []shape {
	var out []shape
	for _, v := range voters {
		for _, e := range entries {
			for _, b := range batches {
				out = append(out, shape{voters: v, entry: e, batch: b})
			}
		}
	}
	return out
}

var (
	// fullGrid crosses 1, 3 and 5 voters, 128 B and 4 KiB entries and
	// batches of 1, 16 and 256.
	fullGrid = grid([]int{1, 3, 5}, []int{128, 4096}, []int{1, 16, 256})
	// axesGrid varies one axis at a time around three voters with 128 B
	// entries, with every batch size: fewer runs than fullGrid for the
	// variants whose cost is dominated by something other than the shape.
	axesGrid = append(
		grid([]int{1, 3, 5}, []int{128}, []int{1, 16, 256}),
		grid([]int{3}, []int{4096}, []int{1, 16, 256})...)
	// threeVoterGrid is three voters with 128 B and 4 KiB entries.
	threeVoterGrid = grid([]int{3}, []int{128, 4096}, []int{1, 16, 256})
)

// bootStorage returns a MemoryStorage holding only the boot snapshot, whose
// configuration has voters 1..voters.
func bootStorage(voters int) (*raft.MemoryStorage, error) {
	ids := make([]uint64, voters)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	s := raft.NewMemoryStorage()
	err := s.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{
		Index: bootIndex, Term: bootTerm, ConfState: pb.ConfState{Voters: ids},
	}})
	return s, err
}

// newConfig returns the Config every benchmark replica uses.
func newConfig(id uint64, s *raft.MemoryStorage, t ticks, async bool) *raft.Config {
	return &raft.Config{
		ID:                 id,
		ElectionTick:       t.election,
		HeartbeatTick:      t.heartbeat,
		Storage:            s,
		MaxSizePerMsg:      maxSizePerMsg,
		MaxInflightMsgs:    maxInflightMsgs,
		AsyncStorageWrites: async,
		Logger:             quietLogger{},
	}
}

// persist writes what a Ready or a MsgStorageAppend hands over to s.
func persist(s *raft.MemoryStorage, hs pb.HardState, ents []pb.Entry, snap *pb.Snapshot) error {
	if snap != nil && !raft.IsEmptySnap(*snap) {
		if err := s.ApplySnapshot(*snap); err != nil {
			return err
		}
	}
	if len(ents) > 0 {
		if err := s.Append(ents); err != nil {
			return err
		}
	}
	if !raft.IsEmptyHardState(hs) {
		return s.SetHardState(hs)
	}
	return nil
}

// quietLogger discards what the library logs, without formatting it, so that
// neither library pays for logging. Fatal and Panic still panic, as the
// Logger contract requires.
type quietLogger struct{}

func (quietLogger) Debug(...any)            {}
func (quietLogger) Debugf(string, ...any)   {}
func (quietLogger) Error(...any)            {}
func (quietLogger) Errorf(string, ...any)   {}
func (quietLogger) Info(...any)             {}
func (quietLogger) Infof(string, ...any)    {}
func (quietLogger) Warning(...any)          {}
func (quietLogger) Warningf(string, ...any) {}
func (quietLogger) Fatal(v ...any)          { panic(fmt.Sprint(v...)) }
func (quietLogger) Fatalf(f string, v ...any) {
	panic(fmt.Sprintf(f, v...))
}
func (quietLogger) Panic(v ...any) { panic(fmt.Sprint(v...)) }
func (quietLogger) Panicf(f string, v ...any) {
	panic(fmt.Sprintf(f, v...))
}
