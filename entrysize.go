package raft

import (
	"math"

	pb "github.com/quorate/raft/raftpb"
)

// This file owns the two units in which the library measures log entries,
// kept as distinct types so that a limit in one cannot be compared with a
// size in the other by mistake, and the rule for cutting a batch of entries
// to a size limit.

// entryEncodingSize is a number of bytes of log entries as they are encoded
// on the wire: the sum of Entry.Size(). Limits that bound messages and
// Ready batches (MaxSizePerMsg, MaxCommittedSizePerReady) are in this unit.
type entryEncodingSize uint64

// entryPayloadSize is a number of bytes of entry payloads only: the sum of
// len(Entry.Data). The uncommitted-size limit (MaxUncommittedEntriesSize) is
// in this unit, so that an empty entry, such as the one a new leader
// appends, costs nothing against it.
type entryPayloadSize uint64

// noSizeLimit is the entryEncodingSize that no batch of entries reaches; it
// disables a size bound.
const noSizeLimit entryEncodingSize = math.MaxUint64

// entsSize returns the encoded size of ents.
func entsSize(ents []pb.Entry) entryEncodingSize {
	var size entryEncodingSize
	for i := range ents {
		size += entryEncodingSize(ents[i].Size())
	}
	return size
}

// maxEntryOverhead bounds the bytes an Entry's encoding adds to its
// payload: a key byte for each of its four fields and at most ten bytes for
// each varint (Type, Term, Index and the payload's length).
const maxEntryOverhead = 4 + 4*10

// entrySizeBound returns an upper bound of e.Size(), cheaper to get: it
// reads only the payload's length.
func entrySizeBound(e *pb.Entry) entryEncodingSize {
	return entryEncodingSize(len(e.Data)) + maxEntryOverhead
}

// payloadSize returns the payload size of e.
func payloadSize(e pb.Entry) entryPayloadSize {
	return entryPayloadSize(len(e.Data))
}

// payloadsSize returns the total payload size of ents.
func payloadsSize(ents []pb.Entry) entryPayloadSize {
	var size entryPayloadSize
	for i := range ents {
		size += payloadSize(ents[i])
	}
	return size
}

// limitSize returns the longest prefix of ents whose encoded size does not
// exceed maxSize, except that it always keeps the first entry even when that
// entry alone is larger: a caller asking for entries must make progress.
// The result shares ents' backing array.
func limitSize(ents []pb.Entry, maxSize entryEncodingSize) []pb.Entry {
	if maxSize == noSizeLimit || len(ents) <= 1 {
		// NB: a single entry is returned whatever its size.
		return ents
	}
	return ents[:fittingPrefix(ents, maxSize)]
}

// fittingPrefix returns how many leading entries of ents fit in budget, in
// encoded bytes, but at least one if ents is not empty.
func fittingPrefix(ents []pb.Entry, budget entryEncodingSize) int {
	// The entries whose largest encodings fit surely fit; only from the
	// first that may not on are exact sizes needed. NB: the bound stops at
	// that entry, so a long slice cut short early is not walked to its end.
	var bound entryEncodingSize
	sure := 0
	for ; sure < len(ents); sure++ {
		bound += entrySizeBound(&ents[sure])
		if bound > budget {
			break
		}
	}
	if sure == len(ents) {
		return sure
	}
	total := entsSize(ents[:sure])
	for n := sure; n < len(ents); n++ {
		total += entryEncodingSize(ents[n].Size())
		if total > budget && n > 0 {
			return n
		}
	}
	return len(ents)
}

// appendInRoom returns dst with src appended, for a dst with room for src
// (cap(dst)-len(dst) >= len(src)). NB: a single entry, what most appends
// carry, is stored into the extended slice: append would copy it through
// typedslicecopy (or to the stack first), some 40 instructions more.
func appendInRoom(dst, src []pb.Entry) []pb.Entry {
	if len(src) != 1 {
		return append(dst, src...)
	}
	n := len(dst)
	dst = dst[:n+1]
	dst[n] = src[0]
	return dst
}
