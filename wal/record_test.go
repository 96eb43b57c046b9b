package wal

import (
	"encoding/binary"
	"fmt"
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

// decodeAllEntries decodes the records of buf and returns each record's
// type and offset, and the entries in order with the offset of the record
// holding each.
func decodeAllEntries(t *testing.T, buf []byte) (types []recordType, recOffs []int, es []pb.Entry, offs []uint32) {
	t.Helper()
	for off := 0; off < len(buf); {
		rec, n, err := decodeRecord(buf[off:])
		if err != nil {
			t.Fatalf("record at %d: %v", off, err)
		}
		types, recOffs = append(types, rec.typ), append(recOffs, off)
		c := newEntryCursor(rec)
		for {
			e, ok, err := c.next()
			if err != nil {
				t.Fatalf("entry in the record at %d: %v", off, err)
			}
			if !ok {
				break
			}
			es, offs = append(es, e), append(offs, uint32(off))
		}
		off += n
	}
	return types, recOffs, es, offs
}

func TestAppendEntryRecords(t *testing.T) {
	sized := func(lo, hi uint64, size int) []pb.Entry {
		var es []pb.Entry
		for i := lo; i <= hi; i++ {
			es = append(es, pb.Entry{Index: i, Term: 2, Type: pb.EntryType(i % 3), Data: make([]byte, size)})
			for k := range es[len(es)-1].Data {
				es[len(es)-1].Data[k] = byte(i) + byte(k)
			}
		}
		return es
	}
	big := sized(300, 300, entriesRecordBytes)
	// perRecord entries of 128 bytes fill an entries record.
	perRecord := uint64(entriesRecordBytes / (4 + entryHeaderSize + 128))
	for _, tc := range []struct {
		name string
		ents []pb.Entry
		// types are the records expected, in order.
		types []recordType
	}{
		{"one entry has an entry record", sized(1, 1, 128), []recordType{recEntry}},
		{"a few entries share an entries record", sized(1, 16, 128), []recordType{recEntries}},
		{"entries fill records of at most entriesRecordBytes", sized(1, 2*perRecord, 128), []recordType{recEntries, recEntries}},
		{"an entry left over at the end has an entry record", sized(1, perRecord+1, 128), []recordType{recEntries, recEntry}},
		{"an entry larger than a record stands alone", append(append(sized(298, 299, 10), big...), sized(301, 302, 10)...),
			[]recordType{recEntries, recEntry, recEntries}},
		{"empty entries", sized(1, 3, 0), []recordType{recEntries}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("left alone")
			buf, offs := appendEntryRecords(append([]byte(nil), prefix...), []uint32{7}, tc.ents...)
			if got := string(buf[:len(prefix)]); got != string(prefix) {
				t.Fatalf("got the buffer's start %q, want %q kept", got, prefix)
			}
			if offs[0] != 7 || len(offs) != len(tc.ents)+1 {
				t.Fatalf("got offsets %v, want 7 kept and one per entry after it", offs)
			}
			types, recOffs, es, entOffs := decodeAllEntries(t, buf[len(prefix):])
			if fmt.Sprint(types) != fmt.Sprint(tc.types) {
				t.Fatalf("got records %v, want %v", types, tc.types)
			}
			for k := range recOffs {
				end := len(buf) - len(prefix)
				if k+1 < len(recOffs) {
					end = recOffs[k+1]
				}
				if n := end - recOffs[k] - recordHeaderSize; types[k] == recEntries && n > entriesRecordBytes {
					t.Fatalf("got an entries record of %d payload bytes, want at most %d", n, entriesRecordBytes)
				}
			}
			if len(es) != len(tc.ents) {
				t.Fatalf("got %d entries back, want %d", len(es), len(tc.ents))
			}
			for k := range es {
				if w := tc.ents[k]; es[k].Index != w.Index || es[k].Term != w.Term || es[k].Type != w.Type || string(es[k].Data) != string(w.Data) {
					t.Fatalf("got entry %v back, want %v", es[k], w)
				}
				if want := entOffs[k] + uint32(len(prefix)); offs[k+1] != want {
					t.Fatalf("got entry %d located at %d, want its record's offset %d", es[k].Index, offs[k+1], want)
				}
			}
		})
	}
}

func TestEntryCursorRejectsMalformedEntriesRecords(t *testing.T) {
	payload := func(es ...pb.Entry) []byte {
		var p []byte
		for i := range es {
			rec := appendEntryRecord(nil, &es[i])
			p = binary.LittleEndian.AppendUint32(p, uint32(len(rec)-recordHeaderSize))
			p = append(p, rec[recordHeaderSize:]...)
		}
		return p
	}
	e := func(i uint64) pb.Entry { return pb.Entry{Index: i, Term: 1, Data: []byte("x")} }
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"no entry", nil},
		{"an index skipped", payload(e(3), e(5))},
		{"an index repeated", payload(e(3), e(3))},
		{"a length past the end", payload(e(3), e(4))[:30]},
		{"a length cut short", append(payload(e(3)), 1, 0)},
		{"an entry shorter than its header", binary.LittleEndian.AppendUint32(nil, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newEntryCursor(record{typ: recEntries, payload: tc.payload})
			var err error
			for ok := true; ok && err == nil; {
				_, ok, err = c.next()
			}
			if err == nil {
				t.Fatalf("got no error for an entries record with %s, want one", tc.name)
			}
		})
	}
}
