package raft

import (
	"encoding/binary"
	"errors"
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// This file holds how a leader reports the configuration changes it
// refuses when Config.ReportRefusedConfChanges is set (issue 12). Without
// it, as in etcd-raft v3.6, a refused change becomes an empty entry and its
// proposer never learns why.

// ErrConfChangeRefused is returned, wrapped with the reason, when the local
// leader refuses a configuration change proposed with ProposeConfChange and
// Config.ReportRefusedConfChanges is set: another change is still pending,
// the change does not fit the active configuration's joint state, and the
// like. Nothing is appended; the proposer may retry once the reason is gone.
var ErrConfChangeRefused = errors.New("raft: configuration change refused")

// refusalPrefix opens the Data of a refusal record. NB: no change a host
// proposes can begin with it, since raft writes such entries itself with a
// normal type, and the zero byte keeps it apart from text payloads.
const refusalPrefix = "\x00quorate-raft/refused-conf-change\x00"

// refusalRecord returns the normal entry that stands, in the log, for the
// configuration change e that the leader refused for reason.
func refusalRecord(e pb.Entry, reason string) pb.Entry {
	data := make([]byte, 0, len(refusalPrefix)+1+binary.MaxVarintLen64+len(reason)+len(e.Data))
	data = append(data, refusalPrefix...)
	data = append(data, byte(e.Type))
	data = binary.AppendUvarint(data, uint64(len(reason)))
	data = append(data, reason...)
	data = append(data, e.Data...)
	return pb.Entry{Type: pb.EntryNormal, Data: data}
}

// ConfChangeRefusal is a configuration change that the leader refused, as
// recorded in the log (see RefusedConfChange).
type ConfChangeRefusal struct {
	// ConfChange is the change as proposed: a pb.ConfChange or a
	// pb.ConfChangeV2.
	ConfChange pb.ConfChangeI
	// Reason says why the leader refused it.
	Reason string
}

// RefusedConfChange returns the refusal that e, a committed entry, records,
// or nil if e records none. Such entries appear only with
// Config.ReportRefusedConfChanges, in place of a change proposed on a
// follower and forwarded to the leader; every peer sees them among its
// committed entries. A host that puts an identifier in the change's Context
// learns this way the outcome of a proposal it forwarded: the change comes
// back either as a configuration change entry, to apply, or as such a
// record. The application must not apply the entry to its state machine.
//
// It returns an error for a record whose change does not decode.
func RefusedConfChange(e pb.Entry) (*ConfChangeRefusal, error) {
	data := e.Data
	if e.Type != pb.EntryNormal || len(data) < len(refusalPrefix)+1 || string(data[:len(refusalPrefix)]) != refusalPrefix {
		return nil, nil
	}
	data = data[len(refusalPrefix):]
	typ := pb.EntryType(data[0])
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || n > uint64(len(data)-1-k) {
		return nil, fmt.Errorf("raft: malformed refusal record at index %d", e.Index)
	}
	refusal := &ConfChangeRefusal{Reason: string(data[1+k : 1+k+int(n)])}
	payload := data[1+k+int(n):]
	var err error
	switch typ {
	case pb.EntryConfChange:
		var v1 pb.ConfChange
		err = v1.Unmarshal(payload)
		refusal.ConfChange = v1
	case pb.EntryConfChangeV2:
		var v2 pb.ConfChangeV2
		err = v2.Unmarshal(payload)
		refusal.ConfChange = v2
	default:
		err = fmt.Errorf("it holds an entry of type %d", typ)
	}
	if err != nil {
		return nil, fmt.Errorf("raft: refusal record at index %d: %w", e.Index, err)
	}
	return refusal, nil
}

// refuseConfChange applies the leader's refusal, for reason, of the
// configuration change in *e, proposed by from: an error for a local
// proposal, or the entry rewritten in the log's place - a refusal record
// when reporting refusals, an empty entry otherwise.
func (r *raft) refuseConfChange(e *pb.Entry, cc pb.ConfChangeV2, from uint64, reason string) error {
	if r.cfg.reportRefusedConfChanges && (from == None || from == r.id) {
		return fmt.Errorf("%w: %s", ErrConfChangeRefused, reason)
	}
	r.cfg.logger.Infof("%x appends conf change %v as an empty entry: %s (configuration %s)", r.id, cc, reason, r.conf.config())
	if r.cfg.reportRefusedConfChanges {
		*e = refusalRecord(*e, reason)
		return nil
	}
	// NB: the proposal keeps its place in the log as a no-op, so that the
	// indexes of the entries after it are unaffected.
	*e = pb.Entry{Type: pb.EntryNormal}
	return nil
}
