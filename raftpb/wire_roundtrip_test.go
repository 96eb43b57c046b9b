package raftpb

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// valueGen draws random wire values from a seeded source. Slices of messages
// and ids are either nil or non-empty, because decoding never produces an
// empty non-nil one; byte slices may be nil, empty or not, since all three
// survive a round trip.
type valueGen struct {
	rng *rand.Rand
}

// uint64 favours the edges of varint sizes: zero, one-byte values, 2^(7k)-1
// and 2^(7k), and the full range.
func (g valueGen) uint64() uint64 {
	switch g.rng.Intn(5) {
	case 0:
		return 0
	case 1:
		return uint64(g.rng.Intn(128))
	case 2:
		k := uint(7 * (1 + g.rng.Intn(9)))
		return 1<<k - uint64(g.rng.Intn(2))
	case 3:
		return math.MaxUint64 - uint64(g.rng.Intn(2))
	default:
		return g.rng.Uint64()
	}
}

func (g valueGen) bytes() []byte {
	switch g.rng.Intn(3) {
	case 0:
		return nil
	case 1:
		return []byte{}
	default:
		b := make([]byte, 1+g.rng.Intn(200))
		g.rng.Read(b)
		return b
	}
}

// enum returns a defined value below n most of the time, and otherwise any
// int32, negative ones included: they are encoded as 10-byte varints.
func (g valueGen) enum(n int) int32 {
	if g.rng.Intn(8) == 0 {
		return int32(g.rng.Uint32())
	}
	return int32(g.rng.Intn(n))
}

func (g valueGen) ids() []uint64 {
	n := g.rng.Intn(5)
	if n == 0 {
		return nil
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = g.uint64()
	}
	return ids
}

func (g valueGen) entry() Entry {
	return Entry{Type: EntryType(g.enum(3)), Term: g.uint64(), Index: g.uint64(), Data: g.bytes()}
}

func (g valueGen) entries() []Entry {
	n := g.rng.Intn(4)
	if n == 0 {
		return nil
	}
	ents := make([]Entry, n)
	for i := range ents {
		ents[i] = g.entry()
	}
	return ents
}

func (g valueGen) confState() ConfState {
	return ConfState{
		Voters:         g.ids(),
		Learners:       g.ids(),
		VotersOutgoing: g.ids(),
		LearnersNext:   g.ids(),
		AutoLeave:      g.rng.Intn(2) == 0,
	}
}

func (g valueGen) snapshot() Snapshot {
	return Snapshot{
		Data:     g.bytes(),
		Metadata: SnapshotMetadata{ConfState: g.confState(), Index: g.uint64(), Term: g.uint64()},
	}
}

// message returns a random Message whose Responses nest at most depth deep.
func (g valueGen) message(depth int) Message {
	m := Message{
		Type:       MessageType(g.enum(len(MessageType_name))),
		To:         g.uint64(),
		From:       g.uint64(),
		Term:       g.uint64(),
		LogTerm:    g.uint64(),
		Index:      g.uint64(),
		Entries:    g.entries(),
		Commit:     g.uint64(),
		Vote:       g.uint64(),
		Reject:     g.rng.Intn(2) == 0,
		RejectHint: g.uint64(),
		Context:    g.bytes(),
	}
	if g.rng.Intn(3) == 0 {
		snap := g.snapshot()
		m.Snapshot = &snap
	}
	if depth > 0 && g.rng.Intn(3) == 0 {
		m.Responses = make([]Message, 1+g.rng.Intn(2))
		for i := range m.Responses {
			m.Responses[i] = g.message(depth - 1)
		}
	}
	return m
}

func (g valueGen) confChangeSingles() []ConfChangeSingle {
	n := g.rng.Intn(4)
	if n == 0 {
		return nil
	}
	ccs := make([]ConfChangeSingle, n)
	for i := range ccs {
		ccs[i] = ConfChangeSingle{Type: ConfChangeType(g.enum(4)), NodeID: g.uint64()}
	}
	return ccs
}

// randomValue returns a random value of a random wire type.
func (g valueGen) randomValue() wireMessage {
	switch g.rng.Intn(9) {
	case 0:
		e := g.entry()
		return &e
	case 1:
		return &HardState{Term: g.uint64(), Vote: g.uint64(), Commit: g.uint64()}
	case 2:
		cs := g.confState()
		return &cs
	case 3:
		return &ConfChange{ID: g.uint64(), Type: ConfChangeType(g.enum(4)), NodeID: g.uint64(), Context: g.bytes()}
	case 4:
		return &ConfChangeSingle{Type: ConfChangeType(g.enum(4)), NodeID: g.uint64()}
	case 5:
		return &ConfChangeV2{
			Transition: ConfChangeTransition(g.enum(3)),
			Changes:    g.confChangeSingles(),
			Context:    g.bytes(),
		}
	case 6:
		s := g.snapshot()
		return &s
	case 7:
		s := g.snapshot()
		return &s.Metadata
	default:
		m := g.message(2)
		return &m
	}
}

// checkRoundTrip asserts that Size, Marshal and MarshalTo agree on the
// encoding of msg and that it decodes back to msg.
func checkRoundTrip(t *testing.T, msg wireMessage) {
	t.Helper()
	data, err := msg.Marshal()
	require.NoError(t, err)
	require.Equal(t, len(data), msg.Size(), "Size: got %d, want len(Marshal()) = %d", msg.Size(), len(data))

	buf := make([]byte, msg.Size())
	n, err := msg.MarshalTo(buf)
	require.NoError(t, err)
	require.Equal(t, len(buf), n, "MarshalTo: got %d bytes, want %d", n, len(buf))
	require.Equal(t, data, buf, "MarshalTo: got %x, want %x", buf, data)

	decoded := newZeroLike(msg)
	require.NoError(t, decoded.Unmarshal(data))
	require.Equal(t, msg, decoded, "Unmarshal: got %+v, want %+v", decoded, msg)
}

var roundTripSeeds = []int64{1, 2, 3, 42, 1 << 40, -7}

func TestMessageRoundTripRandom(t *testing.T) {
	for _, seed := range roundTripSeeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			g := valueGen{rng: rand.New(rand.NewSource(seed))}
			for i := range 200 {
				m := g.message(2)
				t.Run(fmt.Sprintf("message=%d", i), func(t *testing.T) {
					checkRoundTrip(t, &m)
				})
			}
		})
	}
}

func TestWireTypesRoundTripRandom(t *testing.T) {
	for _, seed := range roundTripSeeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			g := valueGen{rng: rand.New(rand.NewSource(seed))}
			for i := range 200 {
				v := g.randomValue()
				t.Run(fmt.Sprintf("value=%d %T", i, v), func(t *testing.T) {
					checkRoundTrip(t, v)
				})
			}
		})
	}
}

func TestGoldensRoundTripThroughMarshalTo(t *testing.T) {
	// The goldens hold hand-picked edge cases the generator may miss (empty
	// non-nil Data, nil Snapshot next to non-nil ones, 2^64-1 everywhere).
	for _, g := range messageGoldens {
		t.Run(g.name, func(t *testing.T) {
			m := g.msg
			checkRoundTrip(t, &m)
		})
	}
	for _, g := range typeGoldens {
		t.Run(g.name, func(t *testing.T) {
			checkRoundTrip(t, g.msg)
		})
	}
}

func TestMarshalToIgnoresBytesPastSize(t *testing.T) {
	m := Message{Type: MsgApp, To: 2, Entries: []Entry{{Index: 1, Data: []byte("d")}}}
	want, err := m.Marshal()
	require.NoError(t, err)
	buf := make([]byte, m.Size()+8)
	for i := range buf {
		buf[i] = 0xee
	}
	n, err := m.MarshalTo(buf)
	require.NoError(t, err)
	assert.Equal(t, len(want), n, "got %d bytes, want %d", n, len(want))
	assert.Equal(t, want, buf[:n], "got %x, want %x", buf[:n], want)
	for i, b := range buf[n:] {
		assert.Equal(t, byte(0xee), b, "byte %d past the encoding: got %#x, want untouched 0xee", n+i, b)
	}
}
