package raftpb

import "strconv"

// This file holds the String methods of the message types. They print the
// same text as go.etcd.io/raft/v3/raftpb v3.6.0 does for the same value, so
// that log lines and golden files do not change when a host switches
// libraries; the rules below were found by comparing the two libraries'
// output on many values (compat/textform_test.go keeps checking it, and
// textform_test.go pins it without etcd-raft).
//
// The form is protobuf's compact text format:
//
//   - fields come in the order they are declared in raft.proto (not by field
//     number), each written as "name:value " with a trailing space, using the
//     proto field name (e.g. "logTerm", "node_id", "Term");
//   - a scalar field is written only when it is not zero: integers and enums
//     when non-zero, bools when true;
//   - a bytes field is written when it is non-nil, so an empty non-nil slice
//     prints as name:"";
//   - a nested message is written as "name:<fields> ", or "name:<> " when
//     none of its fields is written. One held through a pointer is written
//     when the pointer is non-nil; one held by value (a snapshot's metadata,
//     the metadata's conf_state) when it is not the zero value of its Go
//     type, which counts a non-nil empty slice as set;
//   - each element of a repeated field is written as a field of its own, in
//     order; an empty repeated field writes nothing;
//   - an enum is written by name, or as its decimal number when it has no
//     name;
//   - a bytes field is written between double quotes, printable ASCII as is
//     except '"' and '\\', which are escaped with a backslash, \n, \r and \t
//     as such, and every other byte as a three-digit octal escape.
//
// String on a nil pointer returns "<nil>".

// textBuf accumulates a compact text form.
type textBuf []byte

// textForm returns the text form of m, or "<nil>" when m is nil.
func textForm[T any, P interface {
	*T
	writeText(*textBuf)
}](m P) string {
	if m == nil {
		return "<nil>"
	}
	var b textBuf
	m.writeText(&b)
	return string(b)
}

func (b *textBuf) name(name string) {
	*b = append(*b, name...)
	*b = append(*b, ':')
}

func (b *textBuf) uint64(name string, v uint64) {
	if v == 0 {
		return
	}
	b.name(name)
	*b = strconv.AppendUint(*b, v, 10)
	*b = append(*b, ' ')
}

func (b *textBuf) bool(name string, v bool) {
	if v {
		b.name(name)
		*b = append(*b, "true "...)
	}
}

// enum writes v by its name in names, or as a decimal number when it has
// none.
func (b *textBuf) enum(name string, v int32, names map[int32]string) {
	if v == 0 {
		return
	}
	b.name(name)
	if s, ok := names[v]; ok {
		*b = append(*b, s...)
	} else {
		*b = strconv.AppendInt(*b, int64(v), 10)
	}
	*b = append(*b, ' ')
}

func (b *textBuf) uint64s(name string, vs []uint64) {
	for _, v := range vs {
		b.name(name)
		*b = strconv.AppendUint(*b, v, 10)
		*b = append(*b, ' ')
	}
}

// bytes writes v quoted when it is non-nil.
func (b *textBuf) bytes(name string, v []byte) {
	if v == nil {
		return
	}
	b.name(name)
	*b = append(*b, '"')
	for _, c := range v {
		switch {
		case c == '"' || c == '\\':
			*b = append(*b, '\\', c)
		case c == '\n':
			*b = append(*b, `\n`...)
		case c == '\r':
			*b = append(*b, `\r`...)
		case c == '\t':
			*b = append(*b, `\t`...)
		case c >= 0x20 && c < 0x7f:
			*b = append(*b, c)
		default:
			*b = append(*b, '\\', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
		}
	}
	*b = append(*b, '"', ' ')
}

// open starts a nested message; close ends it.
func (b *textBuf) open(name string) {
	b.name(name)
	*b = append(*b, '<')
}

func (b *textBuf) close() {
	*b = append(*b, '>', ' ')
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example
// `Term:2 Index:7 Data:"put x" `. The zero Entry prints as "".
func (m *Entry) String() string {
	return textForm(m)
}

func (m *Entry) writeText(b *textBuf) {
	b.uint64("Term", m.Term)
	b.uint64("Index", m.Index)
	b.enum("Type", int32(m.Type), EntryType_name)
	b.bytes("Data", m.Data)
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example
// "conf_state:<voters:1 voters:2 > index:5 term:2 ".
func (m *SnapshotMetadata) String() string {
	return textForm(m)
}

func (m *SnapshotMetadata) writeText(b *textBuf) {
	if !m.ConfState.isZeroValue() {
		b.open("conf_state")
		m.ConfState.writeText(b)
		b.close()
	}
	b.uint64("index", m.Index)
	b.uint64("term", m.Term)
}

// isZeroValue reports whether m is SnapshotMetadata{}, nil slices and all.
func (m *SnapshotMetadata) isZeroValue() bool {
	return m.ConfState.isZeroValue() && m.Index == 0 && m.Term == 0
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example
// `data:"..." metadata:<index:5 term:2 > `.
func (m *Snapshot) String() string {
	return textForm(m)
}

func (m *Snapshot) writeText(b *textBuf) {
	b.bytes("data", m.Data)
	if !m.Metadata.isZeroValue() {
		b.open("metadata")
		m.Metadata.writeText(b)
		b.close()
	}
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example
// "type:MsgApp to:2 from:1 term:3 logTerm:3 index:9 entries:<Term:3 Index:10 > commit:9 ".
// Entries, the snapshot and responses are written in full.
func (m *Message) String() string {
	return textForm(m)
}

func (m *Message) writeText(b *textBuf) {
	b.enum("type", int32(m.Type), MessageType_name)
	b.uint64("to", m.To)
	b.uint64("from", m.From)
	b.uint64("term", m.Term)
	b.uint64("logTerm", m.LogTerm)
	b.uint64("index", m.Index)
	for i := range m.Entries {
		b.open("entries")
		m.Entries[i].writeText(b)
		b.close()
	}
	b.uint64("commit", m.Commit)
	b.uint64("vote", m.Vote)
	if m.Snapshot != nil {
		b.open("snapshot")
		m.Snapshot.writeText(b)
		b.close()
	}
	b.bool("reject", m.Reject)
	b.uint64("rejectHint", m.RejectHint)
	b.bytes("context", m.Context)
	for i := range m.Responses {
		b.open("responses")
		m.Responses[i].writeText(b)
		b.close()
	}
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example "term:3 vote:1 commit:9 ".
func (m *HardState) String() string {
	return textForm(m)
}

func (m *HardState) writeText(b *textBuf) {
	b.uint64("term", m.Term)
	b.uint64("vote", m.Vote)
	b.uint64("commit", m.Commit)
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example
// "voters:1 voters:2 learners:3 auto_leave:true ", one field per ID.
func (m *ConfState) String() string {
	return textForm(m)
}

func (m *ConfState) writeText(b *textBuf) {
	b.uint64s("voters", m.Voters)
	b.uint64s("learners", m.Learners)
	b.uint64s("voters_outgoing", m.VotersOutgoing)
	b.uint64s("learners_next", m.LearnersNext)
	b.bool("auto_leave", m.AutoLeave)
}

// isZeroValue reports whether m is ConfState{}: every slice nil, not merely
// empty, and AutoLeave false.
func (m *ConfState) isZeroValue() bool {
	return m.Voters == nil && m.Learners == nil && m.VotersOutgoing == nil &&
		m.LearnersNext == nil && !m.AutoLeave
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example
// "type:ConfChangeRemoveNode node_id:3 id:7 ".
func (m *ConfChange) String() string {
	return textForm(m)
}

func (m *ConfChange) writeText(b *textBuf) {
	b.enum("type", int32(m.Type), ConfChangeType_name)
	b.uint64("node_id", m.NodeID)
	b.bytes("context", m.Context)
	b.uint64("id", m.ID)
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example
// "type:ConfChangeAddLearnerNode node_id:4 ".
func (m *ConfChangeSingle) String() string {
	return textForm(m)
}

func (m *ConfChangeSingle) writeText(b *textBuf) {
	b.enum("type", int32(m.Type), ConfChangeType_name)
	b.uint64("node_id", m.NodeID)
}

// String returns the compact text form of m (see the top of textform.go),
// the form etcd-raft v3.6.0 prints: for example
// "transition:ConfChangeTransitionJointExplicit changes:<node_id:2 > changes:<type:ConfChangeRemoveNode node_id:3 > ".
func (m *ConfChangeV2) String() string {
	return textForm(m)
}

func (m *ConfChangeV2) writeText(b *textBuf) {
	b.enum("transition", int32(m.Transition), ConfChangeTransition_name)
	for i := range m.Changes {
		b.open("changes")
		m.Changes[i].writeText(b)
		b.close()
	}
	b.bytes("context", m.Context)
}
