package raft

import (
	"strconv"
	"strings"

	pb "github.com/quorate/raft/raftpb"
)

// This file renders the library's types as short, deterministic text for
// logs, debugging and the scenario tests. The formats are part of what the
// scenario files pin down: change them only together with those files.
//
// Conventions shared by every Describe function:
//   - node IDs are written in hexadecimal, as in the library's log lines;
//   - terms, indexes and sizes are written in decimal;
//   - an entry ID is written term/index (e.g. 2/7);
//   - fields that are zero and carry no meaning when zero are omitted, so a
//     line lists only what the value actually says.

// EntryFormatter renders the Data of a normal entry (and the request context
// of a ReadState) for the Describe functions. A nil EntryFormatter writes the
// bytes as a Go-quoted string.
type EntryFormatter func([]byte) string

// DescribeHardState renders st as "Term:<t> Vote:<id> Commit:<i>". Vote is
// left out when it is None.
func DescribeHardState(st pb.HardState) string {
	var b strings.Builder
	writeHardState(&b, st)
	return b.String()
}

func writeHardState(b *strings.Builder, st pb.HardState) {
	b.WriteString("Term:")
	writeUint(b, st.Term)
	if st.Vote != None {
		b.WriteString(" Vote:")
		writeID(b, st.Vote)
	}
	b.WriteString(" Commit:")
	writeUint(b, st.Commit)
}

// DescribeSoftState renders ss as "Lead:<id> State:<StateType>".
func DescribeSoftState(ss SoftState) string {
	var b strings.Builder
	writeSoftState(&b, ss)
	return b.String()
}

func writeSoftState(b *strings.Builder, ss SoftState) {
	b.WriteString("Lead:")
	writeID(b, ss.Lead)
	b.WriteString(" State:")
	b.WriteString(ss.RaftState.String())
}

// DescribeConfState renders cs as
// "Voters:[...] VotersOutgoing:[...] Learners:[...] LearnersNext:[...] AutoLeave:<bool>".
// Every field is always present so that configurations line up when compared
// by eye; the IDs keep the order they have in cs.
func DescribeConfState(cs pb.ConfState) string {
	var b strings.Builder
	writeConfState(&b, cs)
	return b.String()
}

func writeConfState(b *strings.Builder, cs pb.ConfState) {
	b.WriteString("Voters:")
	writeIDs(b, cs.Voters)
	b.WriteString(" VotersOutgoing:")
	writeIDs(b, cs.VotersOutgoing)
	b.WriteString(" Learners:")
	writeIDs(b, cs.Learners)
	b.WriteString(" LearnersNext:")
	writeIDs(b, cs.LearnersNext)
	b.WriteString(" AutoLeave:")
	b.WriteString(strconv.FormatBool(cs.AutoLeave))
}

// DescribeSnapshot renders the metadata of snap as
// "Index:<i> Term:<t> ConfState:<DescribeConfState>". The snapshot data is
// application-defined and left out.
func DescribeSnapshot(snap pb.Snapshot) string {
	var b strings.Builder
	writeSnapshot(&b, snap)
	return b.String()
}

func writeSnapshot(b *strings.Builder, snap pb.Snapshot) {
	m := snap.Metadata
	b.WriteString("Index:")
	writeUint(b, m.Index)
	b.WriteString(" Term:")
	writeUint(b, m.Term)
	b.WriteString(" ConfState:")
	writeConfState(b, m.ConfState)
}

// DescribeEntry renders e on one line as "<term>/<index> <EntryType> <payload>".
//
// The payload of an EntryNormal entry is f(e.Data) (left out, with its
// separating space, when f returns ""), or the Go-quoted bytes when f is nil. The payload of a conf change entry is decoded and written in
// the compact form of raftpb.ConfChangesToString (e.g. "v2 l3 r4"); a
// ConfChangeV2 with a transition other than auto adds it (e.g.
// "v2 v3 JointExplicit"), and an empty ConfChangeV2 (leaving a joint
// configuration) has no payload. A conf change that does not decode is
// written as "<undecodable: error>".
func DescribeEntry(e pb.Entry, f EntryFormatter) string {
	var b strings.Builder
	writeEntry(&b, e, f)
	return b.String()
}

func writeEntry(b *strings.Builder, e pb.Entry, f EntryFormatter) {
	writeUint(b, e.Term)
	b.WriteByte('/')
	writeUint(b, e.Index)
	b.WriteByte(' ')
	b.WriteString(e.Type.String())
	switch e.Type {
	case pb.EntryConfChange:
		var cc pb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			writeUndecodable(b, err)
			return
		}
		writeChanges(b, cc.AsV2())
	case pb.EntryConfChangeV2:
		var cc pb.ConfChangeV2
		if err := cc.Unmarshal(e.Data); err != nil {
			writeUndecodable(b, err)
			return
		}
		writeChanges(b, cc)
	default:
		if f == nil {
			b.WriteByte(' ')
			writeQuoted(b, e.Data)
		} else if s := f(e.Data); s != "" {
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
}

func writeChanges(b *strings.Builder, cc pb.ConfChangeV2) {
	if s := pb.ConfChangesToString(cc.Changes); s != "" {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	if cc.Transition != pb.ConfChangeTransitionAuto {
		b.WriteByte(' ')
		b.WriteString(strings.TrimPrefix(cc.Transition.String(), "ConfChangeTransition"))
	}
}

func writeUndecodable(b *strings.Builder, err error) {
	b.WriteString(" <undecodable: ")
	b.WriteString(err.Error())
	b.WriteByte('>')
}

// DescribeEntries renders ents one per line with DescribeEntry, each line
// ending in a newline.
func DescribeEntries(ents []pb.Entry, f EntryFormatter) string {
	var b strings.Builder
	for i := range ents {
		writeEntry(&b, ents[i], f)
		b.WriteByte('\n')
	}
	return b.String()
}

// DescribeMessage renders m on one line:
//
//	<from>-><to> <Type> Term:<t> Log:<logterm>/<index> [Commit:<c>] [Vote:<id>]
//	    [Rejected Hint:<h>] [Context:<q>] [Entries:[<e>, ...]]
//	    [Snapshot:<DescribeSnapshot>] [Responses:[<m>, ...]]
//
// The bracketed parts appear only when set: Commit and Vote when non-zero,
// Rejected with its hint when m.Reject, Context (Go-quoted) when non-empty,
// Entries (via DescribeEntry with f) when any, Snapshot when m carries a
// non-empty one, Responses (each a nested DescribeMessage) for the
// MsgStorageAppend and MsgStorageApply messages that carry them. From and To
// are peer IDs in hexadecimal, except that the local storage threads are
// named AppendThread and ApplyThread.
func DescribeMessage(m pb.Message, f EntryFormatter) string {
	var b strings.Builder
	b.Grow(messageSizeHint(&m))
	writeMessage(&b, &m, f)
	return b.String()
}

// messageSizeHint estimates the length of m's description, so that the
// builder is allocated once in the common case instead of growing
// repeatedly.
func messageSizeHint(m *pb.Message) int {
	n := 64
	for i := range m.Entries {
		n += 32 + len(m.Entries[i].Data)
	}
	if m.Snapshot != nil {
		n += 128
	}
	for i := range m.Responses {
		n += messageSizeHint(&m.Responses[i])
	}
	return n
}

func writeMessage(b *strings.Builder, m *pb.Message, f EntryFormatter) {
	writeTarget(b, m.From)
	b.WriteString("->")
	writeTarget(b, m.To)
	b.WriteByte(' ')
	b.WriteString(m.Type.String())
	b.WriteString(" Term:")
	writeUint(b, m.Term)
	b.WriteString(" Log:")
	writeUint(b, m.LogTerm)
	b.WriteByte('/')
	writeUint(b, m.Index)
	if m.Commit != 0 {
		b.WriteString(" Commit:")
		writeUint(b, m.Commit)
	}
	if m.Vote != None {
		b.WriteString(" Vote:")
		writeID(b, m.Vote)
	}
	if m.Reject {
		b.WriteString(" Rejected Hint:")
		writeUint(b, m.RejectHint)
	}
	if len(m.Context) > 0 {
		b.WriteString(" Context:")
		writeQuoted(b, m.Context)
	}
	if len(m.Entries) > 0 {
		b.WriteString(" Entries:[")
		for i := range m.Entries {
			if i > 0 {
				b.WriteString(", ")
			}
			writeEntry(b, m.Entries[i], f)
		}
		b.WriteByte(']')
	}
	if m.Snapshot != nil && !IsEmptySnap(*m.Snapshot) {
		b.WriteString(" Snapshot:")
		writeSnapshot(b, *m.Snapshot)
	}
	if len(m.Responses) > 0 {
		b.WriteString(" Responses:[")
		for i := range m.Responses {
			if i > 0 {
				b.WriteString(", ")
			}
			writeMessage(b, &m.Responses[i], f)
		}
		b.WriteByte(']')
	}
}

// DescribeReady renders rd over several lines, one section per non-empty
// part, in the order an application handles them:
//
//	HardState <DescribeHardState>
//	SoftState <DescribeSoftState>
//	ReadStates:
//	  Index:<i> RequestCtx:<f(ctx)>
//	Entries:
//	  <DescribeEntry>
//	Snapshot <DescribeSnapshot>
//	CommittedEntries:
//	  <DescribeEntry>
//	Messages:
//	  <DescribeMessage>
//	MustSync
//
// The MustSync line appears only when rd.MustSync is set. A Ready with
// nothing in it is rendered as "<empty Ready>". Every line, the last one
// included, ends in a newline.
func DescribeReady(rd Ready, f EntryFormatter) string {
	var b strings.Builder
	b.Grow(readySizeHint(&rd))
	if !IsEmptyHardState(rd.HardState) {
		b.WriteString("HardState ")
		writeHardState(&b, rd.HardState)
		b.WriteByte('\n')
	}
	if rd.SoftState != nil {
		b.WriteString("SoftState ")
		writeSoftState(&b, *rd.SoftState)
		b.WriteByte('\n')
	}
	writeReadSections(&b, &rd, f)
	if rd.Fault != nil {
		b.WriteString("Fault: ")
		b.WriteString(rd.Fault.Error())
		b.WriteByte('\n')
	}
	writeEntrySection(&b, "Entries:\n", rd.Entries, f)
	if !IsEmptySnap(rd.Snapshot) {
		b.WriteString("Snapshot ")
		writeSnapshot(&b, rd.Snapshot)
		b.WriteByte('\n')
	}
	writeEntrySection(&b, "CommittedEntries:\n", rd.CommittedEntries, f)
	if len(rd.Messages) > 0 {
		b.WriteString("Messages:\n")
		for i := range rd.Messages {
			b.WriteString("  ")
			writeMessage(&b, &rd.Messages[i], f)
			b.WriteByte('\n')
		}
	}
	if rd.MustSync {
		b.WriteString("MustSync\n")
	}
	if b.Len() == 0 {
		return "<empty Ready>"
	}
	return b.String()
}

// writeReadSections writes the ReadStates and DroppedReads of rd, if any.
func writeReadSections(b *strings.Builder, rd *Ready, f EntryFormatter) {
	if len(rd.ReadStates) > 0 {
		b.WriteString("ReadStates:\n")
		for _, rs := range rd.ReadStates {
			b.WriteString("  Index:")
			writeUint(b, rs.Index)
			b.WriteString(" RequestCtx:")
			writeData(b, rs.RequestCtx, f)
			b.WriteByte('\n')
		}
	}
	if len(rd.DroppedReads) > 0 {
		b.WriteString("DroppedReads:\n")
		for _, dr := range rd.DroppedReads {
			b.WriteString("  RequestCtx:")
			writeData(b, dr.RequestCtx, f)
			b.WriteString(" Reason:")
			b.WriteString(strconv.Quote(errorText(dr.Reason)))
			b.WriteByte('\n')
		}
	}
}

// readySizeHint estimates the length of rd's description (see
// messageSizeHint).
func readySizeHint(rd *Ready) int {
	n := 128 + 32*len(rd.ReadStates)
	for i := range rd.Entries {
		n += 32 + len(rd.Entries[i].Data)
	}
	for i := range rd.CommittedEntries {
		n += 32 + len(rd.CommittedEntries[i].Data)
	}
	for i := range rd.Messages {
		n += messageSizeHint(&rd.Messages[i])
	}
	return n
}

func writeEntrySection(b *strings.Builder, title string, ents []pb.Entry, f EntryFormatter) {
	if len(ents) == 0 {
		return
	}
	b.WriteString(title)
	for i := range ents {
		b.WriteString("  ")
		writeEntry(b, ents[i], f)
		b.WriteByte('\n')
	}
}

// writeData writes application bytes through f, or Go-quoted when f is nil.
func writeData(b *strings.Builder, data []byte, f EntryFormatter) {
	if f != nil {
		b.WriteString(f(data))
		return
	}
	writeQuoted(b, data)
}

func writeQuoted(b *strings.Builder, data []byte) {
	var buf [64]byte
	b.Write(strconv.AppendQuote(buf[:0], string(data)))
}

func writeUint(b *strings.Builder, v uint64) {
	var buf [20]byte
	b.Write(strconv.AppendUint(buf[:0], v, 10))
}

func writeID(b *strings.Builder, id uint64) {
	var buf [16]byte
	b.Write(strconv.AppendUint(buf[:0], id, 16))
}

// writeTarget writes the sender or recipient of a message: a peer's ID, or
// the name of a local storage thread (AppendThread, ApplyThread).
func writeTarget(b *strings.Builder, id uint64) {
	switch id {
	case LocalAppendThread:
		b.WriteString("AppendThread")
	case LocalApplyThread:
		b.WriteString("ApplyThread")
	default:
		writeID(b, id)
	}
}

func writeIDs(b *strings.Builder, ids []uint64) {
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeID(b, id)
	}
	b.WriteByte(']')
}

// errorText returns err's text, or "<nil>".
func errorText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
