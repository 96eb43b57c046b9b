package compat

import (
	"bytes"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	etcd "go.etcd.io/raft/v3/raftpb"
)

// TestMessageCrossesBothWays checks that a message carried to etcd-raft's
// types and back has the same wire encoding as the original, at every step.
func TestMessageCrossesBothWays(t *testing.T) {
	g := newTextGen(99)
	for i := range 500 {
		m := g.message(2)
		want, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		e, err := MessageToEtcd(m)
		if err != nil {
			t.Fatalf("message %d: MessageToEtcd: %v", i, err)
		}
		got, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d: etcd-raft's copy encodes as %x, want %x", i, got, want)
		}
		back, err := MessageFromEtcd(e)
		if err != nil {
			t.Fatalf("message %d: MessageFromEtcd: %v", i, err)
		}
		if got, err = back.Marshal(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: back in our types it encodes as %x (%v), want %x", i, got, err, want)
		}
	}
}

// TestRecodeReportsDecodingErrors checks that Recode returns, rather than
// hides, a decoding failure: a truncated encoding cannot become a value.
func TestRecodeReportsDecodingErrors(t *testing.T) {
	var dst pb.Message
	if err := Recode(&dst, truncated{}); err == nil {
		t.Errorf("Recode of a truncated encoding: got nil error, want one")
	}
}

// truncated is an Encoder whose encoding stops inside a length-delimited
// field.
type truncated struct{}

func (truncated) Marshal() ([]byte, error) { return []byte{0x3a, 0x05, 0x08}, nil }

// MessageToEtcd returns m as an etcd-raft v3.6 message, through its wire
// encoding.
func MessageToEtcd(m pb.Message) (etcd.Message, error) {
	var out etcd.Message
	err := Recode(&out, &m)
	return out, err
}

// MessageFromEtcd returns the etcd-raft v3.6 message m as one of ours,
// through its wire encoding.
func MessageFromEtcd(m etcd.Message) (pb.Message, error) {
	var out pb.Message
	err := Recode(&out, &m)
	return out, err
}
