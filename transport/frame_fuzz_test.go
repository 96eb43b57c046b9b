package transport

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/quorate/raft/raftpb"
)

// FuzzFrameDecoder feeds arbitrary bytes to the frame reader and to the
// payload decoder of each frame's kind, as a receiving connection would.
// Whatever the input, decoding must end in frames or an error, never a
// panic; frames must respect the limit; and messages that decode must
// survive being encoded and decoded again unchanged.
//
// The seed corpus in testdata/fuzz/FuzzFrameDecoder holds a valid session
// of each stream kind and a few damaged ones.
func FuzzFrameDecoder(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The checksum keeps mutated frames from reaching the payload
		// decoders, so the input is also read as one kind byte and a
		// payload.
		if len(data) > 0 {
			checkPayload(t, frameKind(data[0]%8), data[1:])
		}
		const limit = 1 << 16
		fr := newFrameReader(bytes.NewReader(data), limit)
		for {
			h, err := fr.readHeader()
			if err != nil {
				return
			}
			if h.length > limit {
				t.Fatalf("got a %d-byte frame past the %d limit", h.length, limit)
			}
			payload := make([]byte, h.length)
			if err := fr.readPayload(h, payload); err != nil {
				return
			}
			checkPayload(t, h.kind, payload)
		}
	})
}

func checkPayload(t *testing.T, kind frameKind, payload []byte) {
	switch kind {
	case kindHello:
		if h, err := parseHello(payload); err == nil && !bytes.Equal(h.appendTo(nil), payload) {
			t.Fatalf("hello %+v does not encode back to %x", h, payload)
		}
	case kindAccept:
		if a, err := parseAccept(payload); err == nil && !bytes.Equal(a.appendTo(nil), payload) {
			t.Fatalf("accept %+v does not encode back to %x", a, payload)
		}
	case kindMessages:
		msgs, err := decodeBatch(payload, nil)
		if err != nil {
			return
		}
		batch := make([]queued, len(msgs))
		for i := range msgs {
			batch[i] = queued{m: msgs[i], size: msgs[i].Size()}
		}
		// A message that decoded may re-encode larger (gogo writes fields
		// in its own order and form), so the frame limit is not the issue.
		enc := batchEncoder{maxPayload: 1 << 30}
		fr := newFrameReader(bytes.NewReader(enc.encode(batch)), 1<<30)
		var again []raftpb.Message
		for range msgs {
			f, err := fr.next()
			if err != nil {
				break
			}
			if again, err = decodeBatch(f.payload, again); err != nil {
				t.Fatalf("re-encoded batch does not decode: %v", err)
			}
		}
		if len(msgs) > 0 && !reflect.DeepEqual(again, msgs) {
			t.Fatalf("got %v after a round trip, want %v", again, msgs)
		}
	case kindSnapHeader:
		if h, err := parseSnapHeader(payload); err == nil {
			if h.msg.Snapshot == nil || h.msg.Type != raftpb.MsgSnap {
				t.Fatalf("accepted snapshot header holds %v", h.msg)
			}
		}
	}
}

// fuzzSeeds returns the sessions the seed corpus was made from.
func fuzzSeeds() [][]byte {
	msgs := []raftpb.Message{
		appMsg(1, 2, 7, []byte("hello")),
		{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 4, Commit: 6},
		{Type: raftpb.MsgVote, From: 1, To: 2, Term: 5, LogTerm: 4, Index: 9},
	}
	batch := make([]queued, len(msgs))
	for i := range msgs {
		batch[i] = queued{m: msgs[i], size: msgs[i].Size()}
	}
	enc := batchEncoder{maxPayload: 1 << 10}
	messages := appendFrame(nil, kindHello, 0, hello{clusterID: 1, from: 1, to: 2, stream: streamMessages}.appendTo(nil))
	messages = append(messages, enc.encode(batch)...)

	snap := raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Term: 4, Snapshot: &raftpb.Snapshot{
		Data:     []byte("0123456789abcdef"),
		Metadata: raftpb.SnapshotMetadata{Index: 8, Term: 4, ConfState: raftpb.ConfState{Voters: []uint64{1, 2, 3}}},
	}}
	head, _ := encodeSnapHeader(&snap)
	snapshot := appendFrame(nil, kindHello, 0, hello{clusterID: 1, from: 1, to: 2, stream: streamSnapshot}.appendTo(nil))
	snapshot = appendFrame(snapshot, kindSnapHeader, 0, head)
	snapshot = appendFrame(snapshot, kindSnapChunk, 0, snap.Snapshot.Data[:10])
	snapshot = appendFrame(snapshot, kindSnapChunk, 0, snap.Snapshot.Data[10:])

	answers := appendFrame(nil, kindAccept, 0, accept{clusterID: 1, id: 2}.appendTo(nil))
	answers = appendFrame(answers, kindSnapAck, 0, nil)
	answers = appendFrame(answers, kindReject, 0, rejectPayload("unknown sender 9"))

	torn := bytes.Clone(messages[:len(messages)-5])
	flipped := bytes.Clone(messages)
	flipped[len(flipped)-3] ^= 0x40
	huge := appendFrame(nil, kindMessages, 0, nil)
	huge[12] = 0xff
	return [][]byte{messages, snapshot, answers, torn, flipped, huge, []byte("not a frame at all")}
}
