package wal

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs"
	"github.com/quorate/raft/wal/vfs/faultfs"
)

var openLogBytes = flag.Int64("wal.openlog", 64<<20, "bytes of log BenchmarkOpen writes and then opens (try 1073741824)")

var appendCases = []struct {
	size, batch int
}{
	{128, 1}, {128, 16}, {128, 256},
	{4096, 1}, {4096, 16}, {4096, 256},
}

func appendName(size, batch int) string {
	return fmt.Sprintf("entry=%dB/batch=%d", size, batch)
}

// nextReady fills batch with the entries after *index, all holding data,
// and returns a synced Ready that appends and commits them.
func nextReady(batch []pb.Entry, index *uint64, data []byte) raft.Ready {
	for i := range batch {
		*index++
		batch[i] = pb.Entry{Index: *index, Term: 1, Data: data}
	}
	return raft.Ready{Entries: batch, HardState: pb.HardState{Term: 1, Vote: 1, Commit: *index}, MustSync: true}
}

// BenchmarkAppend measures Save of Readys of batch entries of size bytes
// each, synced, on the real disk (under b.TempDir()). Compare with
// BenchmarkAppendFloor, run in the same invocation.
func BenchmarkAppend(b *testing.B) { benchSave(b, Options{}) }

// benchSave runs the append cases on a store opened with opts in a
// temporary directory.
func benchSave(b *testing.B, opts Options) {
	for _, c := range appendCases {
		b.Run(appendName(c.size, c.batch), func(b *testing.B) {
			s, err := Open(b.TempDir(), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			data := make([]byte, c.size)
			batch := make([]pb.Entry, c.batch)
			b.SetBytes(int64(c.size * c.batch))
			b.ReportAllocs()
			index := uint64(0)
			for b.Loop() {
				if err := s.Save(nextReady(batch, &index, data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// discardFS is the operating system's file system, except that the files
// it creates discard what is written to them and sync instantly: a store
// on it costs the CPU of its writes and no disk time.
type discardFS struct{ vfs.FS }

type discardFile struct{ vfs.File }

func (discardFile) Write(p []byte) (int, error) { return len(p), nil }
func (discardFile) Sync() error                 { return nil }

func (discardFile) WriteVec(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n, nil
}

func (fs discardFS) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return discardFile{f}, nil
}

// BenchmarkAppendCPU measures what Save costs besides the disk: the
// shapes of BenchmarkAppend on a file system that discards the writes.
// This is the part of BenchmarkAppendPaired's store-us/op that the floor
// does not have.
func BenchmarkAppendCPU(b *testing.B) { benchSave(b, Options{FS: discardFS{vfs.OS}}) }

// BenchmarkAppendFloor is the least a durable append can cost: writing the
// same payload bytes as BenchmarkAppend to one file and fdatasyncing it.
func BenchmarkAppendFloor(b *testing.B) {
	for _, c := range appendCases {
		b.Run(appendName(c.size, c.batch), func(b *testing.B) {
			f, err := vfs.OS.Create(filepath.Join(b.TempDir(), "floor"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, c.size*c.batch)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Write(buf); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendPaired alternates, in each iteration, one Save of
// BenchmarkAppend and a write and fdatasync to one file of as many bytes as
// that Save wrote (records, headers and all), so that both see the same
// disk load, and reports the mean time of each and their ratio. On a disk
// shared with other work this is the comparison to quote. It also reports
// the ratio of the medians (p50-store/floor), which a stall of the shared
// disk during a few iterations moves less than it moves the means.
func BenchmarkAppendPaired(b *testing.B) {
	for _, c := range appendCases {
		b.Run(appendName(c.size, c.batch), func(b *testing.B) {
			dir := b.TempDir()
			s, err := Open(filepath.Join(dir, "store"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			f, err := vfs.OS.Create(filepath.Join(dir, "floor"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			data := make([]byte, c.size)
			batch := make([]pb.Entry, c.batch)
			buf := make([]byte, 0, c.size*c.batch*2)
			var storeTime, floorTime time.Duration
			var storeTimes, floorTimes []time.Duration
			var written int64
			index := uint64(0)
			for b.Loop() {
				rd := nextReady(batch, &index, data)
				seg, size := s.active(), s.active().size
				start := time.Now()
				if err := s.Save(rd); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				n := s.active().size - size
				if s.active() != seg {
					n = s.active().size
				}
				written += n
				if _, err := f.Write(buf[:n]); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				end := time.Now()
				storeTime += mid.Sub(start)
				floorTime += end.Sub(mid)
				storeTimes = append(storeTimes, mid.Sub(start))
				floorTimes = append(floorTimes, end.Sub(mid))
			}
			b.ReportMetric(float64(storeTime.Microseconds())/float64(b.N), "store-us/op")
			b.ReportMetric(float64(floorTime.Microseconds())/float64(b.N), "floor-us/op")
			b.ReportMetric(float64(storeTime)/float64(floorTime), "store/floor")
			b.ReportMetric(float64(written)/float64(b.N), "disk-B/op")
			b.ReportMetric(float64(median(storeTimes))/float64(median(floorTimes)), "p50-store/floor")
		})
	}
}

// BenchmarkFloorAgainstFloor pairs two identical floors as
// BenchmarkAppendPaired pairs the store and the floor: in each iteration,
// the bytes a Save of the append case writes are written and fdatasynced
// to one file and then to another. Their ratio would be 1
// on a quiet disk; how far it strays is how far noise alone moves
// BenchmarkAppendPaired's ratios in the same conditions.
func BenchmarkFloorAgainstFloor(b *testing.B) {
	for _, c := range appendCases {
		b.Run(appendName(c.size, c.batch), func(b *testing.B) {
			dir := b.TempDir()
			var files [2]vfs.File
			for k := range files {
				f, err := vfs.OS.Create(filepath.Join(dir, fmt.Sprint("floor", k)))
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				files[k] = f
			}
			// The records a Save of the case writes.
			rd := nextReady(make([]pb.Entry, c.batch), new(uint64), make([]byte, c.size))
			buf, _ := appendEntryRecords(nil, nil, rd.Entries...)
			buf = appendHardStateRecord(buf, rd.HardState)
			var times [2][]time.Duration
			var total [2]time.Duration
			for b.Loop() {
				for k, f := range files {
					start := time.Now()
					if _, err := f.Write(buf); err != nil {
						b.Fatal(err)
					}
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
					d := time.Since(start)
					times[k] = append(times[k], d)
					total[k] += d
				}
			}
			b.ReportMetric(float64(total[0].Microseconds())/float64(b.N), "first-us/op")
			b.ReportMetric(float64(total[1].Microseconds())/float64(b.N), "second-us/op")
			b.ReportMetric(float64(total[0])/float64(total[1]), "first/second")
			b.ReportMetric(float64(median(times[0]))/float64(median(times[1])), "p50-first/second")
		})
	}
}

// median returns the median of ds, which it sorts.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// readCounter is a faultfs.FS that counts reads, to show which reads reach
// the file system.
func readCounter() (*faultfs.FS, *int) {
	fs := faultfs.New()
	reads := new(int)
	fs.SetFault(func(op faultfs.Op) error {
		if op.Kind == faultfs.OpRead {
			*reads++
		}
		return nil
	})
	return fs, reads
}

// benchStore returns a store on an in-memory file system holding 100,000
// entries of 128 bytes over many terms, with the given cache.
func benchStore(b *testing.B, cacheBytes int64) (*Store, *int) {
	fs, reads := readCounter()
	s := openFault(b, fs, Options{CacheBytes: cacheBytes})
	data := make([]byte, 128)
	es := make([]pb.Entry, 1000)
	for i := uint64(0); i < 100; i++ {
		for k := range es {
			es[k] = pb.Entry{Index: i*1000 + uint64(k) + 1, Term: i + 1, Data: data}
		}
		if err := s.Save(raft.Ready{Entries: es, MustSync: true}); err != nil {
			b.Fatal(err)
		}
	}
	*reads = 0
	return s, reads
}

// BenchmarkTerm looks up the terms of entries all over a 100,000-entry log
// of 100 terms, none of them cached: no allocation, no read.
func BenchmarkTerm(b *testing.B) {
	s, reads := benchStore(b, -1)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i = (i + 7919) % 100000
		if _, err := s.Term(i + 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(*reads)/float64(b.N), "reads/op")
}

// BenchmarkEntriesCached reads 64 recent entries that the cache holds: no
// allocation, no read.
func BenchmarkEntriesCached(b *testing.B) { benchEntries(b, 99000) }

// BenchmarkEntriesUncached reads 64 old entries from their segment, for
// comparison with BenchmarkEntriesCached.
func BenchmarkEntriesUncached(b *testing.B) { benchEntries(b, 1000) }

// benchEntries reads the 64 entries from lo on, again and again, reporting
// how many reads reach the file system per call.
func benchEntries(b *testing.B, lo uint64) {
	s, reads := benchStore(b, DefaultCacheBytes)
	b.ReportAllocs()
	for b.Loop() {
		es, err := s.Entries(lo, lo+64, noLimit)
		if err != nil || len(es) != 64 {
			b.Fatal(len(es), err)
		}
	}
	b.ReportMetric(float64(*reads)/float64(b.N), "reads/op")
}

// BenchmarkOpen writes a log of -wal.openlog bytes (4 KiB entries, in
// synced batches of 256) on the real disk, then measures Open, which reads
// and checks every record once.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4096)
	es := make([]pb.Entry, 256)
	index := uint64(0)
	var written int64
	for written < *openLogBytes {
		for k := range es {
			index++
			es[k] = pb.Entry{Index: index, Term: 1, Data: data}
		}
		if err := s.Save(raft.Ready{Entries: es, HardState: pb.HardState{Term: 1, Commit: index}, MustSync: true}); err != nil {
			b.Fatal(err)
		}
		written += int64(len(es) * len(data))
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	var size int64
	names, _ := os.ReadDir(dir)
	for _, n := range names {
		if info, err := n.Info(); err == nil {
			size += info.Size()
		}
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if last, _ := s.LastIndex(); last != index {
			b.Fatalf("got last index %d, want %d", last, index)
		}
		s.Close()
	}
	b.ReportMetric(float64(index), "entries")
}
