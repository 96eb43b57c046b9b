package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
)

// StateMachine is the application state a simulated node applies committed
// entries to. The simulation creates one per node (and a new one when a
// crash loses it) and calls it from one goroutine.
//
// The simulation frames every command it proposes with an 8-byte proposal
// ID; Apply receives the command without it. Entries without a command
// (the empty entries of new leaders) and configuration changes are not
// passed to Apply.
type StateMachine interface {
	// Apply applies the command of the committed entry at index. Indexes
	// increase from one call to the next, but may skip the indexes of
	// entries without a command.
	Apply(index uint64, cmd []byte)
	// Snapshot returns the state as bytes that Restore accepts, reflecting
	// every command applied so far.
	Snapshot() []byte
	// Restore replaces the state by the one data encodes (nil data is the
	// initial, empty state). It returns an error if data is malformed.
	Restore(data []byte) error
	// Read answers a query from the current state. The simulation calls it
	// to serve a linearizable read once the node has applied the index of
	// the read's ReadState; the answer goes into the trace.
	Read(query []byte) []byte
}

// Workload makes the commands and queries the simulated clients send.
type Workload interface {
	// Command returns the command of the proposal with the given sequence
	// number (unique in the run).
	Command(r *rand.Rand, seq uint64) []byte
	// Query returns the query of a read.
	Query(r *rand.Rand) []byte
}

// kvKeys is the number of keys the default workload writes and reads.
const kvKeys = 8

// KV is the default StateMachine: a map from keys to values, written by
// commands "key=value" and read by queries "key". Each value is the
// sequence number of the proposal that wrote it, so that a read tells which
// write it saw.
type KV struct {
	// vals holds the value of each key, and last the index of the last
	// applied command.
	vals map[string]string
	last uint64
}

// NewKV returns an empty KV.
func NewKV() *KV { return &KV{vals: make(map[string]string)} }

// Apply implements StateMachine. A command that is not "key=value" is
// ignored.
func (kv *KV) Apply(index uint64, cmd []byte) {
	for i, c := range cmd {
		if c == '=' {
			kv.vals[string(cmd[:i])] = string(cmd[i+1:])
			break
		}
	}
	kv.last = index
}

// Snapshot implements StateMachine: the index of the last command, then
// the pairs in key order, each as two length-prefixed strings.
func (kv *KV) Snapshot() []byte {
	keys := make([]string, 0, len(kv.vals))
	for k := range kv.vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := binary.BigEndian.AppendUint64(nil, kv.last)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		v := kv.vals[k]
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

var errBadKVSnapshot = errors.New("sim: malformed KV snapshot")

// Restore implements StateMachine.
func (kv *KV) Restore(data []byte) error {
	vals := make(map[string]string)
	var last uint64
	if len(data) > 0 {
		if len(data) < 8 {
			return errBadKVSnapshot
		}
		last = binary.BigEndian.Uint64(data)
		for rest := data[8:]; len(rest) > 0; {
			var kvs [2]string
			for i := range kvs {
				n, w := binary.Uvarint(rest)
				if w <= 0 || uint64(len(rest)-w) < n {
					return errBadKVSnapshot
				}
				kvs[i] = string(rest[w : w+int(n)])
				rest = rest[w+int(n):]
			}
			vals[kvs[0]] = kvs[1]
		}
	}
	kv.vals, kv.last = vals, last
	return nil
}

// Read implements StateMachine: the value of the key, or nothing.
func (kv *KV) Read(query []byte) []byte {
	return []byte(kv.vals[string(query)])
}

// KVWorkload is the default Workload, for KV: writes of the proposal's
// sequence number to one of a few keys, and reads of one of them.
type KVWorkload struct{}

// Command implements Workload.
func (KVWorkload) Command(r *rand.Rand, seq uint64) []byte {
	return fmt.Appendf(nil, "k%d=%s", r.IntN(kvKeys), strconv.FormatUint(seq, 10))
}

// Query implements Workload.
func (KVWorkload) Query(r *rand.Rand) []byte {
	return fmt.Appendf(nil, "k%d", r.IntN(kvKeys))
}
