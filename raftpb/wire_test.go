package raftpb

import (
	"encoding/hex"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mustHex decodes hex byte groups such as {"08 03", "10 02"}. It panics on a
// malformed literal, which is a bug in the test table itself.
func mustHex(groups []string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(strings.Join(groups, " ")), ""))
	if err != nil {
		panic(fmt.Sprintf("bad hex literal %q: %v", groups, err))
	}
	return b
}

// newZeroLike returns a pointer to a new zero value of the type msg points to.
func newZeroLike(msg wireMessage) wireMessage {
	return reflect.New(reflect.TypeOf(msg).Elem()).Interface().(wireMessage)
}

// checkGolden asserts that msg encodes to exactly want, in every way the
// generated code offers, and that want decodes back to msg.
func checkGolden(t *testing.T, msg wireMessage, want []byte) {
	t.Helper()
	got, err := msg.Marshal()
	require.NoError(t, err)
	assert.Equal(t, want, got, "Marshal: got %x, want %x", got, want)
	assert.Equal(t, len(want), msg.Size(), "Size: got %d, want %d", msg.Size(), len(want))

	buf := make([]byte, len(want))
	n, err := msg.MarshalTo(buf)
	require.NoError(t, err)
	assert.Equal(t, len(want), n, "MarshalTo length: got %d, want %d", n, len(want))
	assert.Equal(t, want, buf, "MarshalTo: got %x, want %x", buf, want)

	decoded := newZeroLike(msg)
	require.NoError(t, decoded.Unmarshal(want))
	assert.Equal(t, msg, decoded, "Unmarshal: got %+v, want %+v", decoded, msg)
}

func TestMessageGoldenEncodings(t *testing.T) {
	for _, g := range messageGoldens {
		t.Run(g.name, func(t *testing.T) {
			msg := g.msg
			checkGolden(t, &msg, mustHex(g.wire))
		})
	}
}

func TestMessageGoldensCoverEveryType(t *testing.T) {
	covered := map[MessageType]bool{}
	for _, g := range messageGoldens {
		covered[g.msg.Type] = true
	}
	require.Len(t, MessageType_name, 24, "got %d message types, want 24 (0..23)", len(MessageType_name))
	for v, name := range MessageType_name {
		t.Run(name, func(t *testing.T) {
			assert.True(t, covered[MessageType(v)], "no golden encoding for %s (%d)", name, v)
		})
	}
}

func TestTypeGoldenEncodings(t *testing.T) {
	for _, g := range typeGoldens {
		t.Run(g.name, func(t *testing.T) {
			checkGolden(t, g.msg, mustHex(g.wire))
		})
	}
}

func TestMarshalConfChangeGolden(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		typ, data, err := MarshalConfChange(ConfChange{ID: 3, Type: ConfChangeAddLearnerNode, NodeID: 4, Context: []byte("c")})
		require.NoError(t, err)
		assert.Equal(t, EntryConfChange, typ)
		// id 3, type 3 (AddLearnerNode), node_id 4, context "c".
		want := mustHex([]string{"08 03 10 03 18 04 22 01 63"})
		assert.Equal(t, want, data, "got %x, want %x", data, want)
	})
	t.Run("v2", func(t *testing.T) {
		cc := ConfChangeV2{Changes: []ConfChangeSingle{{Type: ConfChangeRemoveNode, NodeID: 2}}}
		typ, data, err := MarshalConfChange(cc)
		require.NoError(t, err)
		assert.Equal(t, EntryConfChangeV2, typ)
		// transition 0 (Auto), changes[0] of 4 bytes: type 1 (RemoveNode), node_id 2; nil context omitted.
		want := mustHex([]string{"08 00 12 04 08 01 10 02"})
		assert.Equal(t, want, data, "got %x, want %x", data, want)
	})
}

// TestUnmarshalCompatibleInputs decodes encodings that Marshal never produces
// but that other protobuf implementations may, and that must be accepted.
func TestUnmarshalCompatibleInputs(t *testing.T) {
	t.Run("packed repeated uint64", func(t *testing.T) {
		var cs ConfState
		// voters (field 1) as one length-delimited field (tag 0a) of 4 bytes:
		// 1, 2, 300; then learners (field 2) packed (tag 12), 1 byte: 4.
		require.NoError(t, cs.Unmarshal(mustHex([]string{"0a 04 01 02 ac 02", "12 01 04"})))
		want := ConfState{Voters: []uint64{1, 2, 300}, Learners: []uint64{4}}
		assert.Equal(t, want, cs)
	})
	t.Run("packed and unpacked mixed", func(t *testing.T) {
		var cs ConfState
		// voters 7 unpacked (08 07), then voters 8, 9 packed (0a 02 08 09).
		require.NoError(t, cs.Unmarshal(mustHex([]string{"08 07", "0a 02 08 09"})))
		assert.Equal(t, []uint64{7, 8, 9}, cs.Voters)
	})
	t.Run("missing scalars are zero", func(t *testing.T) {
		var m Message
		require.NoError(t, m.Unmarshal(mustHex([]string{"08 03"}))) // only type = MsgApp
		assert.Equal(t, Message{Type: MsgApp}, m)
	})
	t.Run("unknown fields are skipped", func(t *testing.T) {
		var m Message
		require.NoError(t, m.Unmarshal(mustHex([]string{
			"08 04",             // type = MsgAppResp
			"78 05",             // field 15, varint 5: unknown
			"82 01 02 aa bb",    // field 16 (tag 16<<3|2 = 130 = 82 01), 2 bytes: unknown
			"10 02",             // to = 2
			"f5 07 01 02 03 04", // field 126 (tag 126<<3|5 = 1013 = f5 07), fixed32: unknown
		})))
		assert.Equal(t, Message{Type: MsgAppResp, To: 2}, m)
	})
	t.Run("fields out of order", func(t *testing.T) {
		var m Message
		require.NoError(t, m.Unmarshal(mustHex([]string{"68 02", "20 05", "08 05"}))) // vote 2, term 5, type MsgVote
		assert.Equal(t, Message{Type: MsgVote, Term: 5, Vote: 2}, m)
	})
	t.Run("repeated scalar field keeps the last value", func(t *testing.T) {
		var hs HardState
		require.NoError(t, hs.Unmarshal(mustHex([]string{"08 01", "08 02"}))) // term 1, then term 2
		assert.Equal(t, HardState{Term: 2}, hs)
	})
}

// malformedInput is an encoding that every decoder must reject.
type malformedInput struct {
	name    string
	wire    []string
	wantErr error  // compared with errors.Is when set
	wantMsg string // substring of the error when wantErr is nil
}

var malformedMessages = []malformedInput{
	{name: "tag cut short", wire: []string{"80"}, wantErr: io.ErrUnexpectedEOF},
	{name: "varint value missing", wire: []string{"08"}, wantErr: io.ErrUnexpectedEOF},
	{name: "varint cut short", wire: []string{"10 ff ff"}, wantErr: io.ErrUnexpectedEOF},
	{name: "varint longer than 64 bits", wire: []string{"20 ff ff ff ff ff ff ff ff ff ff 01"}, wantErr: ErrIntOverflowRaft},
	{name: "tag longer than 64 bits", wire: []string{"ff ff ff ff ff ff ff ff ff ff 01"}, wantErr: ErrIntOverflowRaft},
	{name: "entry length past the end", wire: []string{"3a 05 08 00"}, wantErr: io.ErrUnexpectedEOF},
	{name: "context length past the end", wire: []string{"62 03 61"}, wantErr: io.ErrUnexpectedEOF},
	{name: "negative length", wire: []string{"62 ff ff ff ff ff ff ff ff ff 01"}, wantErr: ErrInvalidLengthRaft},
	{name: "malformed nested entry", wire: []string{"3a 02 08 ff"}, wantErr: io.ErrUnexpectedEOF},
	{name: "malformed nested conf state", wire: []string{"4a 04 12 02 0a 00", "4a 03 12 01 0a"}, wantErr: io.ErrUnexpectedEOF},
	{name: "field number zero", wire: []string{"00 00"}, wantMsg: "illegal tag 0"},
	{name: "varint field sent length-delimited", wire: []string{"0a 01 03"}, wantMsg: "wrong wireType = 2 for field Type"},
	{name: "bytes field sent as varint", wire: []string{"60 01"}, wantMsg: "wrong wireType = 0 for field Context"},
	{name: "end group without start", wire: []string{"0c"}, wantMsg: "wiretype end group for non-group"},
	{name: "unknown field with wire type 7", wire: []string{"7f"}, wantMsg: "illegal wireType 7"},
	{name: "unknown fixed64 field cut short", wire: []string{"79 01 02 03"}, wantErr: io.ErrUnexpectedEOF},
}

func TestMessageUnmarshalMalformed(t *testing.T) {
	for _, in := range malformedMessages {
		t.Run(in.name, func(t *testing.T) {
			var m Message
			err := m.Unmarshal(mustHex(in.wire))
			require.Error(t, err, "got %+v, want an error", m)
			if in.wantErr != nil {
				assert.ErrorIs(t, err, in.wantErr)
			} else {
				assert.Contains(t, err.Error(), in.wantMsg)
			}
		})
	}
}

func TestMessageUnmarshalTruncatedGoldens(t *testing.T) {
	// Cutting a golden inside its last field must fail. Every golden ends in
	// vote (68 xx) or responses; dropping the last byte cuts that field.
	for _, g := range messageGoldens {
		t.Run(g.name, func(t *testing.T) {
			full := mustHex(g.wire)
			var m Message
			err := m.Unmarshal(full[:len(full)-1])
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		})
	}
}
