package transport

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/quorate/raft/raftpb"
)

func TestFrameRoundTrip(t *testing.T) {
	frames := []frame{
		{kind: kindHello, payload: hello{clusterID: 7, from: 1, to: 2, stream: streamMessages}.appendTo(nil)},
		{kind: kindMessages, group: 42, payload: []byte("some payload")},
		{kind: kindSnapAck, payload: []byte{}},
	}
	var stream []byte
	for _, f := range frames {
		stream = appendFrame(stream, f.kind, f.group, f.payload)
	}
	fr := newFrameReader(bytes.NewReader(stream), 1<<10)
	for _, want := range frames {
		got, err := fr.next()
		if err != nil {
			t.Fatalf("next: got error %v, want %s frame", err, want.kind)
		}
		if got.kind != want.kind || got.group != want.group || !bytes.Equal(got.payload, want.payload) {
			t.Errorf("got %s/%d/%q, want %s/%d/%q", got.kind, got.group, got.payload, want.kind, want.group, want.payload)
		}
	}
	if _, err := fr.next(); err != io.EOF {
		t.Errorf("after the last frame: got %v, want io.EOF", err)
	}
}

func TestFrameReaderRefusesBadFrames(t *testing.T) {
	good := appendFrame(nil, kindMessages, 0, []byte("0123456789"))
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"version", edit(func(b []byte) []byte { b[0] = 2; return b }), errVersion},
		{"reserved bits", edit(func(b []byte) []byte { b[3] = 1; return b }), errReserved},
		{"kind zero", edit(func(b []byte) []byte { b[1] = 0; return b }), errKind},
		{"kind unknown", edit(func(b []byte) []byte { b[1] = byte(maxKind) + 1; return b }), errKind},
		{"length over limit", edit(func(b []byte) []byte { b[12] = 0x7f; return b }), errTooLarge},
		{"payload flipped", edit(func(b []byte) []byte { b[headerSize+3] ^= 1; return b }), errChecksum},
		{"group flipped", edit(func(b []byte) []byte { b[11] ^= 1; return b }), errChecksum},
		{"cut in header", good[:headerSize-1], errTruncated},
		{"cut in payload", good[:len(good)-1], errTruncated},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"), errVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newFrameReader(bytes.NewReader(tt.stream), 1<<10).next()
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBatchEncoderSplitsAtFrameLimit(t *testing.T) {
	var batch []queued
	var want []raftpb.Message
	for i := uint64(1); i <= 100; i++ {
		m := appMsg(1, 2, i, bytes.Repeat([]byte{byte(i)}, 100))
		want = append(want, m)
		batch = append(batch, queued{m: m, size: m.Size()})
	}
	const maxPayload = 1 << 10
	enc := batchEncoder{group: 3, maxPayload: maxPayload}
	out := enc.encode(batch)

	fr := newFrameReader(bytes.NewReader(out), maxPayload)
	var got []raftpb.Message
	frames := 0
	for {
		f, err := fr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		frames++
		if f.kind != kindMessages || f.group != 3 {
			t.Errorf("frame %d: got %s for group %d, want messages for group 3", frames, f.kind, f.group)
		}
		if got, err = decodeBatch(f.payload, got); err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %d messages back, want the %d encoded", len(got), len(want))
	}
	// Each message takes about 130 bytes, so about 7 fit in a frame.
	if frames < 100*130/maxPayload || frames > 100/5 {
		t.Errorf("got %d frames, want about %d", frames, 100*130/maxPayload+1)
	}
}

func TestDecodeBatchRefusesMalformedPayloads(t *testing.T) {
	m := appMsg(1, 2, 5, []byte("x"))
	body, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload []byte
	}{
		{"unterminated length", []byte{0x80}},
		{"length past end", append([]byte{byte(len(body) + 1)}, body...)},
		{"bad message", []byte{2, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := decodeBatch(tt.payload, nil)
			if !errors.Is(err, errMalformed) || len(msgs) != 0 {
				t.Errorf("got %d messages and error %v, want none and %v", len(msgs), err, errMalformed)
			}
		})
	}
	t.Run("decodes into fresh messages", func(t *testing.T) {
		one := append([]byte{byte(len(body))}, body...)
		msgs, err := decodeBatch(append(bytes.Clone(one), one...), nil)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("got %d messages, error %v; want 2, nil", len(msgs), err)
		}
		// Decoding again into the same slice must not touch the entries
		// already handed out.
		first := msgs[0].Entries
		if _, err := decodeBatch(one, msgs[:0]); err != nil {
			t.Fatal(err)
		}
		if &first[0] == &msgs[0].Entries[0] || len(first) != 1 {
			t.Errorf("got entries shared with the previous decode (len %d), want a fresh slice", len(first))
		}
	})
}

func TestHandshakePayloads(t *testing.T) {
	t.Run("hello round trip", func(t *testing.T) {
		want := hello{clusterID: 1 << 60, from: 3, to: 1 << 40, stream: streamSnapshot}
		got, err := parseHello(want.appendTo(nil))
		if err != nil || got != want {
			t.Errorf("got %+v, %v; want %+v, nil", got, err, want)
		}
	})
	t.Run("hello wrong length", func(t *testing.T) {
		if _, err := parseHello(make([]byte, helloSize-1)); !errors.Is(err, errMalformed) {
			t.Errorf("got %v, want %v", err, errMalformed)
		}
	})
	t.Run("hello unknown stream", func(t *testing.T) {
		p := hello{clusterID: 1, from: 2, to: 3, stream: 9}.appendTo(nil)
		if _, err := parseHello(p); !errors.Is(err, errMalformed) {
			t.Errorf("got %v, want %v", err, errMalformed)
		}
	})
	t.Run("accept round trip", func(t *testing.T) {
		want := accept{clusterID: 5, id: 6}
		got, err := parseAccept(want.appendTo(nil))
		if err != nil || got != want {
			t.Errorf("got %+v, %v; want %+v, nil", got, err, want)
		}
	})
	t.Run("reject reason bounded", func(t *testing.T) {
		if got := len(rejectPayload(string(make([]byte, 1000)))); got != maxReasonLen {
			t.Errorf("got %d bytes, want %d", got, maxReasonLen)
		}
	})
}

func TestSnapHeaderRoundTrip(t *testing.T) {
	for _, data := range [][]byte{nil, {}, []byte("snapshot data")} {
		m := raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Term: 3, Snapshot: &raftpb.Snapshot{
			Data:     data,
			Metadata: raftpb.SnapshotMetadata{Index: 10, Term: 3, ConfState: raftpb.ConfState{Voters: []uint64{1, 2}}},
		}}
		p, err := encodeSnapHeader(&m)
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseSnapHeader(p)
		if err != nil {
			t.Fatalf("data %q: %v", data, err)
		}
		if h.dataLen != uint64(len(data)) || h.dataNil != (data == nil) {
			t.Errorf("data %q: got length %d nil %v, want %d %v", data, h.dataLen, h.dataNil, len(data), data == nil)
		}
		h.msg.Snapshot.Data = m.Snapshot.Data
		if !reflect.DeepEqual(h.msg, m) {
			t.Errorf("got %v, want %v", h.msg, m)
		}
		if len(m.Snapshot.Data) != len(data) {
			t.Errorf("encoding changed the caller's snapshot data")
		}
	}
	t.Run("not a snapshot", func(t *testing.T) {
		m := appMsg(1, 2, 3, nil)
		body, _ := m.Marshal()
		p := append(make([]byte, 9), body...)
		if _, err := parseSnapHeader(p); !errors.Is(err, errMalformed) {
			t.Errorf("got %v, want %v", err, errMalformed)
		}
	})
}
