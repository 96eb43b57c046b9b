package raft

// How FuzzStep reads its input: the byte reader, the decoders that turn
// bytes into messages mostly relative to the peer's term and log, and the
// encoder that writes the seeds in the same format.

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

// fuzzReader hands out the fuzz input byte by byte, and zeros once it is
// exhausted.
type fuzzReader struct {
	data []byte
}

func (r *fuzzReader) done() bool { return len(r.data) == 0 }

func (r *fuzzReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *fuzzReader) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], r.data)
	r.data = r.data[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (r *fuzzReader) bytes() []byte {
	n := min(int(r.byte()%16), len(r.data))
	b := r.data[:n:n]
	r.data = r.data[n:]
	return b
}

// fuzzFromIDs are the senders a fuzzed message may claim: None, self, the
// other voters, and peers outside the configuration.
var fuzzFromIDs = []uint64{None, 1, 2, 3, 4, math.MaxUint64 - 2}

// decodeMessage decodes one message from in.
func (fn *fuzzNode) decodeMessage(in *fuzzReader) pb.Message {
	m := pb.Message{
		Type: pb.MessageType(in.byte() % (byte(numMessageTypes) + 2)),
		To:   1,
		From: fuzzFromIDs[int(in.byte())%len(fuzzFromIDs)],
	}
	m.Term = fn.termValue(in)
	m.LogTerm = fn.termValue(in)
	m.Index = fn.indexValue(in)
	m.Commit = fn.indexValue(in)
	m.RejectHint = fn.indexValue(in)
	m.Reject = in.byte()&1 != 0
	m.Entries = fn.decodeEntries(in, m)
	m.Snapshot = fn.decodeSnapshot(in)
	switch in.byte() % 4 {
	case 1:
		m.Context = []byte(campaignTransfer)
	case 2:
		m.Context = binary.BigEndian.AppendUint64(nil, uint64(in.byte()))
	case 3:
		m.Context = in.bytes()
	}
	return m
}

// termValue decodes a term, mostly one near the peer's.
func (fn *fuzzNode) termValue(in *fuzzReader) uint64 {
	r := fn.rn.raft
	switch in.byte() % 8 {
	case 0:
		return 0
	case 1:
		return r.term - 1
	case 2, 3:
		return r.term
	case 4:
		return r.term + 1
	case 5:
		return r.log.lastTerm()
	case 6:
		return uint64(in.byte())
	default:
		return in.uint64()
	}
}

// indexValue decodes a log index, mostly one near the bounds of the peer's
// log.
func (fn *fuzzNode) indexValue(in *fuzzReader) uint64 {
	l := fn.rn.raft.log
	switch in.byte() % 10 {
	case 0:
		return 0
	case 1:
		return l.lastIndex()
	case 2:
		return l.lastIndex() + 1
	case 3:
		return l.committed()
	case 4:
		return l.firstIndex() - 1
	case 5:
		return l.lastIndex() - uint64(in.byte()%4)
	case 6:
		return l.committed() + uint64(in.byte()%4)
	case 7:
		return uint64(in.byte())
	case 8:
		return math.MaxUint64 - uint64(in.byte()%2)
	default:
		return in.uint64()
	}
}

// decodeEntries decodes up to 3 entries: mostly a run following m.Index,
// sometimes with arbitrary indexes and terms.
func (fn *fuzzNode) decodeEntries(in *fuzzReader, m pb.Message) []pb.Entry {
	b := in.byte()
	n := int(b % 4)
	if n == 0 {
		if b&4 != 0 {
			return []pb.Entry{}
		}
		return nil
	}
	ents := make([]pb.Entry, n)
	for i := range ents {
		e := &ents[i]
		if b&8 != 0 {
			e.Index, e.Term = fn.indexValue(in), fn.termValue(in)
		} else {
			e.Index = m.Index + 1 + uint64(i)
			e.Term = max(m.LogTerm, m.Term)
		}
		e.Type, e.Data = decodeEntryPayload(in)
	}
	return ents
}

// decodeEntryPayload decodes an entry type and payload: normal data, a
// valid configuration change of either version, or garbage.
func decodeEntryPayload(in *fuzzReader) (pb.EntryType, []byte) {
	b := in.byte()
	typ := pb.EntryType(b % 4)
	switch typ {
	case pb.EntryConfChange:
		if b&4 != 0 {
			break
		}
		cc := pb.ConfChange{Type: pb.ConfChangeType(in.byte() % 5), NodeID: uint64(in.byte() % 6)}
		data, _ := cc.Marshal()
		return typ, data
	case pb.EntryConfChangeV2:
		if b&4 != 0 {
			break
		}
		var cc pb.ConfChangeV2
		cc.Transition = pb.ConfChangeTransition(in.byte() % 4)
		for k := in.byte() % 3; k > 0; k-- {
			cc.Changes = append(cc.Changes, pb.ConfChangeSingle{
				Type: pb.ConfChangeType(in.byte() % 5), NodeID: uint64(in.byte() % 6),
			})
		}
		data, _ := cc.Marshal()
		return typ, data
	}
	return typ, in.bytes()
}

// decodeSnapshot decodes a nil, empty or arbitrary snapshot.
func (fn *fuzzNode) decodeSnapshot(in *fuzzReader) *pb.Snapshot {
	switch in.byte() % 4 {
	case 0, 1:
		return nil
	case 2:
		return &pb.Snapshot{}
	}
	s := &pb.Snapshot{Data: in.bytes()}
	s.Metadata.Index = fn.indexValue(in)
	s.Metadata.Term = fn.termValue(in)
	cs := &s.Metadata.ConfState
	cs.Voters = decodeIDSet(in)
	cs.Learners = decodeIDSet(in)
	cs.VotersOutgoing = decodeIDSet(in)
	cs.LearnersNext = decodeIDSet(in)
	cs.AutoLeave = in.byte()&1 != 0
	return s
}

// decodeIDSet decodes a subset of {1, ..., 5} (ids may repeat).
func decodeIDSet(in *fuzzReader) []uint64 {
	b := in.byte()
	var ids []uint64
	for id := uint64(1); id <= 5; id++ {
		if b&(1<<(id-1)) != 0 {
			ids = append(ids, id)
		}
	}
	if b&0x80 != 0 && len(ids) > 0 {
		ids = append(ids, ids[0])
	}
	return ids
}

// fuzzEncoder builds FuzzStep inputs for the seeds, in the format the
// decoder above reads.
type fuzzEncoder struct {
	buf []byte
}

func (e *fuzzEncoder) op(b ...byte) *fuzzEncoder {
	e.buf = append(e.buf, b...)
	return e
}

// Selector bytes of termValue and indexValue used by the seeds.
const (
	selTermZero   = 0
	selTermPrev   = 1
	selTermCur    = 2
	selTermNext   = 4
	selTermLast   = 5
	selIndexZero  = 0
	selIndexLast  = 1
	selIndexAfter = 2
	selIndexCommi = 3
	selIndexFirst = 4
)

// msg appends a message step: type, sender, term, logTerm, index, commit,
// reject hint, reject, entries, snapshot and context selectors.
func (e *fuzzEncoder) msg(typ pb.MessageType, from byte, term, logTerm, index, commit byte, entries, snap, ctx byte) *fuzzEncoder {
	e.op(0, byte(typ), from, term, logTerm, index, commit, selIndexZero, 0, entries)
	for range entries % 4 {
		// A normal entry with an empty payload.
		e.op(0, 0)
	}
	return e.op(snap, ctx)
}

// fuzzStepSeeds returns a valid-looking message of every type for every
// role, each followed by a Ready round and a tick, plus a few sequences
// that exercise snapshots, proposals and conflicting appends.
func fuzzStepSeeds() [][]byte {
	var seeds [][]byte
	for role := byte(0); role < numFuzzRoles; role++ {
		for typ := pb.MessageType(0); int(typ) < numMessageTypes; typ++ {
			for _, from := range []byte{2, 3} {
				e := &fuzzEncoder{}
				e.op(role, 3)
				// One entry following (LogTerm, Index) = the last entry.
				e.msg(typ, from, selTermCur, selTermLast, selIndexLast, selIndexCommi, 1, 0, 0)
				e.op(6, 5, 6)
				seeds = append(seeds, e.buf)
			}
		}
		// A snapshot past the log, for voters {1, 2, 3}.
		e := &fuzzEncoder{}
		e.op(role, 0)
		e.op(0, byte(pb.MsgSnap), 2, selTermCur, selTermZero, selIndexZero, selIndexZero, selIndexZero, 0, 0,
			3, 0, 7, 20, selTermCur, 0x07, 0, 0, 0, 0, 0)
		e.op(6, 7, 6)
		seeds = append(seeds, e.buf)
		// A conflicting append at the commit index, then a heartbeat.
		e = &fuzzEncoder{}
		e.op(role, 1)
		e.msg(pb.MsgApp, 2, selTermNext, selTermCur, selIndexCommi, selIndexCommi, 3, 0, 0)
		e.msg(pb.MsgHeartbeat, 2, selTermNext, selTermZero, selIndexZero, selIndexLast, 0, 0, 2)
		e.op(6)
		seeds = append(seeds, e.buf)
	}
	return seeds
}

// TestFuzzStepSeedsDecode checks that the seeds decode to the messages they
// are meant to be, so that the corpus covers every message type.
func TestFuzzStepSeedsDecode(t *testing.T) {
	seen := map[pb.MessageType]bool{}
	for _, seed := range fuzzStepSeeds() {
		in := &fuzzReader{data: seed}
		fn := newFuzzNode(t, in.byte(), in.byte())
		if op := in.byte(); op != 0 {
			continue
		}
		m := fn.decodeMessage(in)
		seen[m.Type] = true
	}
	for typ := pb.MessageType(0); int(typ) < numMessageTypes; typ++ {
		if !seen[typ] {
			t.Errorf("got no seed for %v, want one for every message type", typ)
		}
	}
	t.Run(fmt.Sprintf("%d seeds", len(fuzzStepSeeds())), func(t *testing.T) {
		for _, seed := range fuzzStepSeeds() {
			runFuzzStep(t, seed)
		}
	})
}
