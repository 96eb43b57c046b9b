package compat

import (
	"math"
	"math/rand/v2"
	"unicode/utf8"

	pb "github.com/quorate/raft/raftpb"
)

// textGen draws raftpb values in our types from a seeded source, leaning on
// what a text or JSON form has to get right: zero fields (omitted or not),
// nil against empty slices, bytes that need escaping (control bytes, quotes,
// backslashes, non-UTF-8 and multi-byte UTF-8), the largest uint64, and enum
// values outside the defined range, negative ones included.
type textGen struct {
	rng *rand.Rand
}

func newTextGen(seed uint64) *textGen {
	return &textGen{rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

// oneIn reports true with probability 1/n.
func (g *textGen) oneIn(n int) bool { return g.rng.IntN(n) == 0 }

// u64 is zero a third of the time, so that omitted fields are common.
func (g *textGen) u64() uint64 {
	switch g.rng.IntN(9) {
	case 0, 1, 2:
		return 0
	case 3:
		return 1 + uint64(g.rng.IntN(9))
	case 4:
		return math.MaxUint64 - uint64(g.rng.IntN(2))
	case 5:
		return 1 << g.rng.IntN(64)
	case 6:
		return uint64(g.rng.IntN(1 << 20))
	default:
		return g.rng.Uint64()
	}
}

func (g *textGen) flag() bool { return g.rng.IntN(2) == 0 }

// enum returns a value of an enum with n defined values: mostly a defined
// one (zero included), otherwise just past the end, negative, an int32 edge
// or any int32.
func (g *textGen) enum(n int) int32 {
	switch g.rng.IntN(12) {
	case 0:
		return int32(n + g.rng.IntN(3))
	case 1:
		return -1 - int32(g.rng.IntN(3))
	case 2:
		return []int32{math.MinInt32, math.MaxInt32}[g.rng.IntN(2)]
	case 3:
		return int32(g.rng.Uint32())
	default:
		return int32(g.rng.IntN(n))
	}
}

// bytes returns nil, empty or content of one of several kinds.
func (g *textGen) bytes() []byte {
	switch g.rng.IntN(8) {
	case 0, 1:
		return nil
	case 2:
		return []byte{}
	case 3: // printable ASCII, quote and backslash included
		b := make([]byte, 1+g.rng.IntN(24))
		for i := range b {
			b[i] = byte(0x20 + g.rng.IntN(0x5f))
		}
		return b
	case 4: // the characters a quoted form escapes by name or by code
		const special = "\"\\'\n\r\t\a\b\f\v\x00\x1b\x7f?`"
		b := make([]byte, 1+g.rng.IntN(12))
		for i := range b {
			b[i] = special[g.rng.IntN(len(special))]
		}
		return b
	case 5: // valid multi-byte UTF-8
		var b []byte
		for range 1 + g.rng.IntN(8) {
			b = utf8.AppendRune(b, []rune{'é', 'λ', '€', '𝄞', '\u2028', '\ufeff', 'x'}[g.rng.IntN(7)])
		}
		return b
	case 6: // invalid UTF-8: stray continuation bytes, truncated sequences
		b := []byte{0x80, 0xc3, 0xff, 0xfe, 0xe2, 0x82}
		g.rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		return b[:1+g.rng.IntN(len(b))]
	default: // anything
		b := make([]byte, 1+g.rng.IntN(64))
		for i := range b {
			b[i] = byte(g.rng.Uint32())
		}
		return b
	}
}

// ids returns nil, empty, or up to five IDs.
func (g *textGen) ids() []uint64 {
	switch g.rng.IntN(4) {
	case 0:
		return nil
	case 1:
		return []uint64{}
	default:
		s := make([]uint64, 1+g.rng.IntN(5))
		for i := range s {
			s[i] = g.u64()
		}
		return s
	}
}

// count returns the length of a repeated field and whether it is nil: nil,
// empty, or 1..max elements.
func (g *textGen) count(max int) (n int, isNil bool) {
	switch g.rng.IntN(4) {
	case 0:
		return 0, true
	case 1:
		return 0, false
	default:
		return 1 + g.rng.IntN(max), false
	}
}

func (g *textGen) entry() pb.Entry {
	return pb.Entry{Term: g.u64(), Index: g.u64(), Type: pb.EntryType(g.enum(3)), Data: g.bytes()}
}

func (g *textGen) confState() pb.ConfState {
	if g.oneIn(5) {
		return pb.ConfState{}
	}
	return pb.ConfState{
		Voters:         g.ids(),
		Learners:       g.ids(),
		VotersOutgoing: g.ids(),
		LearnersNext:   g.ids(),
		AutoLeave:      g.flag(),
	}
}

func (g *textGen) snapshotMetadata() pb.SnapshotMetadata {
	if g.oneIn(5) {
		return pb.SnapshotMetadata{}
	}
	return pb.SnapshotMetadata{ConfState: g.confState(), Index: g.u64(), Term: g.u64()}
}

func (g *textGen) snapshot() pb.Snapshot {
	return pb.Snapshot{Data: g.bytes(), Metadata: g.snapshotMetadata()}
}

// message nests responses up to depth more levels.
func (g *textGen) message(depth int) pb.Message {
	m := pb.Message{
		Type:       pb.MessageType(g.enum(24)),
		To:         g.u64(),
		From:       g.u64(),
		Term:       g.u64(),
		LogTerm:    g.u64(),
		Index:      g.u64(),
		Commit:     g.u64(),
		Vote:       g.u64(),
		Reject:     g.flag(),
		RejectHint: g.u64(),
		Context:    g.bytes(),
	}
	if n, isNil := g.count(4); !isNil {
		m.Entries = make([]pb.Entry, n)
		for i := range m.Entries {
			m.Entries[i] = g.entry()
		}
	}
	if !g.oneIn(3) {
		s := g.snapshot()
		m.Snapshot = &s
	}
	if depth > 0 {
		if n, isNil := g.count(3); !isNil {
			m.Responses = make([]pb.Message, n)
			for i := range m.Responses {
				m.Responses[i] = g.message(depth - 1)
			}
		}
	}
	return m
}

func (g *textGen) hardState() pb.HardState {
	return pb.HardState{Term: g.u64(), Vote: g.u64(), Commit: g.u64()}
}

func (g *textGen) confChange() pb.ConfChange {
	return pb.ConfChange{Type: pb.ConfChangeType(g.enum(4)), NodeID: g.u64(), Context: g.bytes(), ID: g.u64()}
}

func (g *textGen) confChangeSingle() pb.ConfChangeSingle {
	return pb.ConfChangeSingle{Type: pb.ConfChangeType(g.enum(4)), NodeID: g.u64()}
}

func (g *textGen) confChangeV2() pb.ConfChangeV2 {
	cc := pb.ConfChangeV2{Transition: pb.ConfChangeTransition(g.enum(3)), Context: g.bytes()}
	if n, isNil := g.count(5); !isNil {
		cc.Changes = make([]pb.ConfChangeSingle, n)
		for i := range cc.Changes {
			cc.Changes[i] = g.confChangeSingle()
		}
	}
	return cc
}

// deepMessage returns a message whose responses nest levels deep, each level
// carrying a little content so that every level shows in the text form.
func deepMessage(g *textGen, levels int) pb.Message {
	m := g.message(0)
	for range levels {
		outer := g.message(0)
		outer.Responses = []pb.Message{m}
		m = outer
	}
	return m
}
