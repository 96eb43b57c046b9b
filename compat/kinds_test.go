package compat

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	etcd "go.etcd.io/raft/v3/raftpb"
)

// pbValue is a pointer to a raftpb message type of either library.
type pbValue interface {
	Encoder
	Decoder
	String() string
}

// structKind describes one raftpb message type for the differential tests:
// how to make a fresh value in each library and how to draw values of ours.
type structKind struct {
	name    string
	newOurs func() pbValue
	newEtcd func() pbValue
	// edges are fixed values checked before the random ones; the zero value
	// comes first.
	edges func(g *textGen) []pbValue
	// random draws one value.
	random func(g *textGen) pbValue
}

// values returns the edge values followed by random ones, n in all (at least
// all the edges).
func (k structKind) values(seed uint64, n int) []pbValue {
	g := newTextGen(seed)
	vs := append([]pbValue{k.newOurs()}, k.edges(g)...)
	for len(vs) < n {
		vs = append(vs, k.random(g))
	}
	return vs
}

func ptr[T any](v T) *T { return &v }

const maxU64 = math.MaxUint64

var structKinds = []structKind{
	{
		name:    "Entry",
		newOurs: func() pbValue { return new(pb.Entry) },
		newEtcd: func() pbValue { return new(etcd.Entry) },
		edges: func(g *textGen) []pbValue {
			all := make([]byte, 256)
			for i := range all {
				all[i] = byte(i)
			}
			return []pbValue{
				&pb.Entry{Data: []byte{}},
				&pb.Entry{Data: all},
				&pb.Entry{Term: maxU64, Index: maxU64, Type: math.MaxInt32, Data: []byte("\xff\xfe")},
				&pb.Entry{Type: math.MinInt32},
				&pb.Entry{Type: -1},
				&pb.Entry{Type: pb.EntryConfChangeV2 + 1},
			}
		},
		random: func(g *textGen) pbValue { return ptr(g.entry()) },
	},
	{
		name:    "SnapshotMetadata",
		newOurs: func() pbValue { return new(pb.SnapshotMetadata) },
		newEtcd: func() pbValue { return new(etcd.SnapshotMetadata) },
		edges: func(g *textGen) []pbValue {
			return []pbValue{
				&pb.SnapshotMetadata{ConfState: pb.ConfState{Voters: []uint64{}}},
				&pb.SnapshotMetadata{ConfState: pb.ConfState{LearnersNext: []uint64{}}},
				&pb.SnapshotMetadata{ConfState: pb.ConfState{AutoLeave: true}},
				&pb.SnapshotMetadata{Index: maxU64, Term: maxU64},
			}
		},
		random: func(g *textGen) pbValue { return ptr(g.snapshotMetadata()) },
	},
	{
		name:    "Snapshot",
		newOurs: func() pbValue { return new(pb.Snapshot) },
		newEtcd: func() pbValue { return new(etcd.Snapshot) },
		edges: func(g *textGen) []pbValue {
			return []pbValue{
				&pb.Snapshot{Data: []byte{}},
				&pb.Snapshot{Metadata: pb.SnapshotMetadata{ConfState: pb.ConfState{Learners: []uint64{}}}},
				&pb.Snapshot{Metadata: pb.SnapshotMetadata{Term: 1}},
				&pb.Snapshot{Data: []byte("\x00"), Metadata: pb.SnapshotMetadata{ConfState: pb.ConfState{Voters: []uint64{0, maxU64}}}},
			}
		},
		random: func(g *textGen) pbValue { return ptr(g.snapshot()) },
	},
	{
		name:    "Message",
		newOurs: func() pbValue { return new(pb.Message) },
		newEtcd: func() pbValue { return new(etcd.Message) },
		edges: func(g *textGen) []pbValue {
			return []pbValue{
				&pb.Message{Entries: []pb.Entry{}, Responses: []pb.Message{}, Context: []byte{}},
				&pb.Message{Entries: []pb.Entry{{}}, Responses: []pb.Message{{}}, Snapshot: &pb.Snapshot{}},
				&pb.Message{Snapshot: &pb.Snapshot{Metadata: pb.SnapshotMetadata{ConfState: pb.ConfState{VotersOutgoing: []uint64{}}}}},
				&pb.Message{Type: -1, Reject: true},
				&pb.Message{Type: pb.MsgForgetLeader + 1, To: maxU64, From: maxU64, Term: maxU64, LogTerm: maxU64,
					Index: maxU64, Commit: maxU64, Vote: maxU64, RejectHint: maxU64},
				&pb.Message{Responses: []pb.Message{{Responses: []pb.Message{{Responses: []pb.Message{{}}}}}}},
				ptr(deepMessage(g, 8)),
				ptr(deepMessage(g, 64)),
			}
		},
		random: func(g *textGen) pbValue { return ptr(g.message(2)) },
	},
	{
		name:    "HardState",
		newOurs: func() pbValue { return new(pb.HardState) },
		newEtcd: func() pbValue { return new(etcd.HardState) },
		edges: func(g *textGen) []pbValue {
			return []pbValue{&pb.HardState{Vote: 1}, &pb.HardState{Term: maxU64, Vote: maxU64, Commit: maxU64}}
		},
		random: func(g *textGen) pbValue { return ptr(g.hardState()) },
	},
	{
		name:    "ConfState",
		newOurs: func() pbValue { return new(pb.ConfState) },
		newEtcd: func() pbValue { return new(etcd.ConfState) },
		edges: func(g *textGen) []pbValue {
			return []pbValue{
				&pb.ConfState{Voters: []uint64{}, Learners: []uint64{}, VotersOutgoing: []uint64{}, LearnersNext: []uint64{}},
				&pb.ConfState{AutoLeave: true},
				&pb.ConfState{Voters: []uint64{0, 0}, LearnersNext: []uint64{maxU64}},
			}
		},
		random: func(g *textGen) pbValue { return ptr(g.confState()) },
	},
	{
		name:    "ConfChange",
		newOurs: func() pbValue { return new(pb.ConfChange) },
		newEtcd: func() pbValue { return new(etcd.ConfChange) },
		edges: func(g *textGen) []pbValue {
			return []pbValue{
				&pb.ConfChange{Context: []byte{}},
				&pb.ConfChange{Type: -2, ID: maxU64},
				&pb.ConfChange{Type: pb.ConfChangeAddLearnerNode + 1, NodeID: maxU64, Context: []byte("\"")},
			}
		},
		random: func(g *textGen) pbValue { return ptr(g.confChange()) },
	},
	{
		name:    "ConfChangeSingle",
		newOurs: func() pbValue { return new(pb.ConfChangeSingle) },
		newEtcd: func() pbValue { return new(etcd.ConfChangeSingle) },
		edges: func(g *textGen) []pbValue {
			return []pbValue{&pb.ConfChangeSingle{Type: math.MaxInt32}, &pb.ConfChangeSingle{NodeID: maxU64}}
		},
		random: func(g *textGen) pbValue { return ptr(g.confChangeSingle()) },
	},
	{
		name:    "ConfChangeV2",
		newOurs: func() pbValue { return new(pb.ConfChangeV2) },
		newEtcd: func() pbValue { return new(etcd.ConfChangeV2) },
		edges: func(g *textGen) []pbValue {
			return []pbValue{
				&pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{}, Context: []byte{}},
				&pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{{}, {}}},
				&pb.ConfChangeV2{Transition: -1},
				&pb.ConfChangeV2{Transition: pb.ConfChangeTransitionJointExplicit + 1},
			}
		},
		random: func(g *textGen) pbValue { return ptr(g.confChangeV2()) },
	},
}

// enumKind describes one raftpb enum: its number of defined values and how
// to print a value of it in each library.
type enumKind struct {
	name    string
	defined int32
	ours    func(int32) any
	etcd    func(int32) any
}

var enumKinds = []enumKind{
	{"MessageType", 24, func(v int32) any { return pb.MessageType(v) }, func(v int32) any { return etcd.MessageType(v) }},
	{"EntryType", 3, func(v int32) any { return pb.EntryType(v) }, func(v int32) any { return etcd.EntryType(v) }},
	{"ConfChangeType", 4, func(v int32) any { return pb.ConfChangeType(v) }, func(v int32) any { return etcd.ConfChangeType(v) }},
	{"ConfChangeTransition", 3, func(v int32) any { return pb.ConfChangeTransition(v) }, func(v int32) any { return etcd.ConfChangeTransition(v) }},
}

// values returns every defined value, a few on either side, the int32
// edges and n random int32s.
func (k enumKind) values(seed uint64, n int) []int32 {
	vs := []int32{math.MinInt32, math.MaxInt32}
	for v := int32(-4); v < k.defined+4; v++ {
		vs = append(vs, v)
	}
	g := newTextGen(seed)
	for range n {
		vs = append(vs, int32(g.rng.Uint32()))
	}
	return vs
}

// etcdSame returns, for a pointer to a raftpb value of ours, a pointer to the
// same value in etcd-raft's types: copied field by field, so that nil and
// empty slices stay as they are (a trip through the wire encoding would turn
// an empty repeated field into nil). It fails the test if the two types do
// not have the same fields.
func etcdSame(t testing.TB, v pbValue, fresh pbValue) pbValue {
	t.Helper()
	if err := copyFields(reflect.ValueOf(fresh).Elem(), reflect.ValueOf(v).Elem()); err != nil {
		t.Fatalf("copying %T into %T: %v", v, fresh, err)
	}
	return fresh
}

// copyFields sets dst, a value of an etcd-raft raftpb type, to src, a value
// of the matching type of ours.
func copyFields(dst, src reflect.Value) error {
	switch src.Kind() {
	case reflect.Struct:
		if dst.NumField() != src.NumField() {
			return fmt.Errorf("%v has %d fields, %v has %d", src.Type(), src.NumField(), dst.Type(), dst.NumField())
		}
		for i := range src.NumField() {
			name := src.Type().Field(i).Name
			if got := dst.Type().Field(i).Name; got != name {
				return fmt.Errorf("field %d of %v is %s, of %v is %s", i, src.Type(), name, dst.Type(), got)
			}
			if err := copyFields(dst.Field(i), src.Field(i)); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if !src.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
			return copyFields(dst.Elem(), src.Elem())
		}
	case reflect.Slice:
		if !src.IsNil() {
			dst.Set(reflect.MakeSlice(dst.Type(), src.Len(), src.Len()))
			for i := range src.Len() {
				if err := copyFields(dst.Index(i), src.Index(i)); err != nil {
					return err
				}
			}
		}
	case reflect.Uint64, reflect.Uint8:
		dst.SetUint(src.Uint())
	case reflect.Int32:
		dst.SetInt(src.Int())
	case reflect.Bool:
		dst.SetBool(src.Bool())
	default:
		return fmt.Errorf("unexpected field kind %v", src.Kind())
	}
	return nil
}

// holdsPointer reports whether v contains a non-nil pointer below its top
// level; fmt prints such a pointer as an address.
func holdsPointer(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer:
		return !v.IsNil()
	case reflect.Struct:
		for i := range v.NumField() {
			if holdsPointer(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if holdsPointer(v.Index(i)) {
				return true
			}
		}
	}
	return false
}

// sweepSize returns how many random values per type to check, and the seed:
// RAFT_COMPAT_VALUES and RAFT_COMPAT_SEED override the defaults of 2000 and
// 1.
func sweepSize(t testing.TB) (n int, seed uint64) {
	n, seed = 2000, 1
	if s := os.Getenv("RAFT_COMPAT_VALUES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("RAFT_COMPAT_VALUES=%q: want a positive integer", s)
		}
		n = v
	}
	if s := os.Getenv("RAFT_COMPAT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("RAFT_COMPAT_SEED=%q: want an unsigned integer", s)
		}
		seed = v
	}
	return n, seed
}

// tally counts the values of one type on which the two libraries agree and
// keeps the first few disagreements for the failure message.
type tally struct {
	values, same int
	examples     []string
}

// add records one value; diffs lists its disagreements, if any.
func (c *tally) add(diffs []string) {
	c.values++
	if len(diffs) == 0 {
		c.same++
		return
	}
	if len(c.examples) < 3 {
		c.examples = append(c.examples, diffs...)
	}
}

// report logs the match rate and fails the test if any value disagreed.
func (c *tally) report(t *testing.T, what string) {
	t.Helper()
	t.Logf("%s: %d of %d values identical", what, c.same, c.values)
	if c.same != c.values {
		t.Errorf("%s: %d of %d values differ; first differences:", what, c.values-c.same, c.values)
		for _, e := range c.examples {
			t.Error(e)
		}
	}
}

// compare appends to diffs a line for form when got and want differ.
func compare(diffs []string, form, got, want string) []string {
	if got != want {
		diffs = append(diffs, fmt.Sprintf("%s: got %q, want %q", form, got, want))
	}
	return diffs
}
