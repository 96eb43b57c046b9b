package raftpb

import (
	"fmt"
	"strconv"
	"strings"
)

// ConfChangeI is a membership change in either of its two encodings: a
// ConfChange (one node, always applied directly) or a ConfChangeV2 (any
// number of nodes, possibly through a joint configuration, thesis 4.3).
// ConfChange and ConfChangeV2 implement it.
type ConfChangeI interface {
	// AsV2 returns the change as a ConfChangeV2. It never fails: every
	// ConfChange has an equivalent ConfChangeV2.
	AsV2() ConfChangeV2
	// AsV1 returns the change as a ConfChange and true when it is one, and
	// the zero ConfChange and false otherwise. A ConfChangeV2 is never
	// converted back, even when it holds a single change.
	AsV1() (ConfChange, bool)
}

var (
	_ ConfChangeI = ConfChange{}
	_ ConfChangeI = ConfChangeV2{}
)

// AsV2 returns the equivalent ConfChangeV2: an automatic transition with the
// single change (Type, NodeID) and the same Context. The ID field has no
// counterpart in ConfChangeV2 and is dropped. Context is shared, not copied.
func (c ConfChange) AsV2() ConfChangeV2 {
	return ConfChangeV2{
		Changes: []ConfChangeSingle{{Type: c.Type, NodeID: c.NodeID}},
		Context: c.Context,
	}
}

// AsV1 returns c and true.
func (c ConfChange) AsV1() (ConfChange, bool) {
	return c, true
}

// AsV2 returns c.
func (c ConfChangeV2) AsV2() ConfChangeV2 { return c }

// AsV1 returns the zero ConfChange and false: a ConfChangeV2 is always
// proposed and applied as a V2 change.
func (c ConfChangeV2) AsV1() (ConfChange, bool) { return ConfChange{}, false }

// MarshalConfChange encodes c as the payload of a log entry and returns the
// entry type to store it under: EntryConfChange with the encoded ConfChange
// when c.AsV1 succeeds, EntryConfChangeV2 with the encoded ConfChangeV2
// otherwise.
//
// A nil c yields EntryConfChangeV2 with nil data. Nil data decodes as the zero
// ConfChangeV2, which is the request to leave a joint configuration (see
// LeaveJoint); a leader uses this to leave a joint configuration
// automatically without spending log bytes on it.
func MarshalConfChange(c ConfChangeI) (EntryType, []byte, error) {
	if c == nil {
		return EntryConfChangeV2, nil, nil
	}
	if v1, ok := c.AsV1(); ok {
		data, err := v1.Marshal()
		return EntryConfChange, data, err
	}
	v2 := c.AsV2()
	data, err := v2.Marshal()
	return EntryConfChangeV2, data, err
}

// EnterJoint reports whether applying c requires entering a joint
// configuration (thesis 4.3), and if so whether that joint configuration is
// left automatically.
//
// ok is true when c.Transition is not ConfChangeTransitionAuto, or when c
// holds more than one change: an automatic transition with at most one change
// is applied directly, since changing a single voter keeps any majority of the
// old configuration overlapping any majority of the new one (thesis 4.1). When
// ok is false, autoLeave is false too.
//
// autoLeave is true for ConfChangeTransitionAuto and
// ConfChangeTransitionJointImplicit (the leader proposes the empty
// ConfChangeV2 that leaves the joint configuration once it has been applied),
// and false for ConfChangeTransitionJointExplicit (the application must
// propose that change itself).
//
// EnterJoint panics, with c in the message, when c.Transition is not one of
// the three defined values. Callers that accept changes from outside must
// validate Transition first; the raft core rejects such proposals before they
// reach the log.
func (c ConfChangeV2) EnterJoint() (autoLeave bool, ok bool) {
	if c.Transition == ConfChangeTransitionAuto && len(c.Changes) <= 1 {
		return false, false
	}
	switch c.Transition {
	case ConfChangeTransitionAuto, ConfChangeTransitionJointImplicit:
		return true, true
	case ConfChangeTransitionJointExplicit:
		return false, true
	default:
		panic(fmt.Sprintf("raftpb: ConfChangeV2 has unknown transition %d: %+v", int32(c.Transition), c))
	}
}

// LeaveJoint reports whether c is the request to leave a joint configuration:
// the zero ConfChangeV2 apart from Context, that is, an automatic transition
// with no changes.
func (c ConfChangeV2) LeaveJoint() bool {
	return c.Transition == ConfChangeTransitionAuto && len(c.Changes) == 0
}

// confChangeLetters maps each ConfChangeType to its letter in the compact
// text form used by ConfChangesFromString and ConfChangesToString.
// Invariant: the letters are distinct and cover every defined ConfChangeType.
var confChangeLetters = [...]struct {
	typ    ConfChangeType
	letter byte
}{
	{ConfChangeAddNode, 'v'},
	{ConfChangeAddLearnerNode, 'l'},
	{ConfChangeRemoveNode, 'r'},
	{ConfChangeUpdateNode, 'u'},
}

// ConfChangesFromString parses the compact text form of a list of changes:
// whitespace-separated tokens, each a letter followed by a decimal node ID,
// where the letter is 'v' for ConfChangeAddNode (a voter), 'l' for
// ConfChangeAddLearnerNode, 'r' for ConfChangeRemoveNode and 'u' for
// ConfChangeUpdateNode. For example "v1 l2 r3" adds voter 1, adds learner 2
// and removes node 3.
//
// An empty or all-whitespace s yields nil and no error. A token with an
// unknown letter, without an ID, or with an ID that is not a uint64 yields an
// error naming the token.
func ConfChangesFromString(s string) ([]ConfChangeSingle, error) {
	tokens := strings.Fields(s)
	if len(tokens) == 0 {
		return nil, nil
	}
	ccs := make([]ConfChangeSingle, 0, len(tokens))
	for _, tok := range tokens {
		cc, err := confChangeFromToken(tok)
		if err != nil {
			return nil, err
		}
		ccs = append(ccs, cc)
	}
	return ccs, nil
}

// confChangeFromToken parses one token of ConfChangesFromString.
func confChangeFromToken(tok string) (ConfChangeSingle, error) {
	typ, ok := confChangeTypeOf(tok[0])
	if !ok {
		return ConfChangeSingle{}, fmt.Errorf(
			"raftpb: conf change %q: unknown type letter %q, want one of v (voter), l (learner), r (remove), u (update)",
			tok, tok[0])
	}
	if len(tok) == 1 {
		return ConfChangeSingle{}, fmt.Errorf("raftpb: conf change %q: missing node ID after %q", tok, tok[0])
	}
	id, err := strconv.ParseUint(tok[1:], 10, 64)
	if err != nil {
		return ConfChangeSingle{}, fmt.Errorf("raftpb: conf change %q: node ID %q is not a uint64: %w", tok, tok[1:], err)
	}
	return ConfChangeSingle{Type: typ, NodeID: id}, nil
}

// confChangeTypeOf returns the ConfChangeType written as letter, and whether
// there is one.
func confChangeTypeOf(letter byte) (ConfChangeType, bool) {
	for _, e := range confChangeLetters {
		if e.letter == letter {
			return e.typ, true
		}
	}
	return 0, false
}

// ConfChangesToString formats ccs in the compact text form parsed by
// ConfChangesFromString, tokens separated by single spaces, so that
// ConfChangesFromString(ConfChangesToString(ccs)) returns ccs for any ccs of
// defined types (nil for an empty ccs). A change of an undefined type is
// written as "unknown" followed by its node ID, which does not parse back.
func ConfChangesToString(ccs []ConfChangeSingle) string {
	var sb strings.Builder
	for i, cc := range ccs {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(confChangeLetterOf(cc.Type))
		sb.WriteString(strconv.FormatUint(cc.NodeID, 10))
	}
	return sb.String()
}

// confChangeLetterOf returns the text-form prefix of typ: its letter, or
// "unknown" for an undefined type.
func confChangeLetterOf(typ ConfChangeType) string {
	for _, e := range confChangeLetters {
		if e.typ == typ {
			return string(e.letter)
		}
	}
	return "unknown"
}
