package raft

import (
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// This file holds what a follower does when its leader shows that its log
// lost entries it had acknowledged, under Config.ReportLostLog (issue 12;
// etcd-io/etcd#10166). Such a peer may have been part of the quorum that
// committed entries it no longer holds: if it voted, it could elect a
// leader without them; if it acknowledged appends, it could help commit
// entries that overwrite them. So it stops taking part altogether, and its
// host hears of it instead of the process dying.

// LostLogError reports that a peer's log lost entries it had acknowledged:
// its leader asked it to commit beyond its log, or to replace an entry it
// had committed. It is handed out in Ready.Fault under Config.ReportLostLog;
// from then on the peer takes no part in the group.
type LostLogError struct {
	// ID is the peer that lost entries, and Leader the leader that found it
	// out.
	ID, Leader uint64
	// Commit is the commit index the leader sent, or the index of the
	// committed entry it asked to replace.
	Commit uint64
	// Committed and LastIndex are the peer's commit index and last index
	// when it was found out.
	Committed, LastIndex uint64
}

// Error implements error.
func (e *LostLogError) Error() string {
	return fmt.Sprintf("raft: %x lost acknowledged log entries: leader %x holds it to index %d, "+
		"but its log ends at %d (committed %d); it takes no further part in the group",
		e.ID, e.Leader, e.Commit, e.LastIndex, e.Committed)
}

// faultState is whether the peer stopped taking part, and why.
// Invariant: a peer with a fault does not lead: only a follower finds out
// (lostLog), and a faulted peer changes role no more (stepFaulted, and its
// ticks do nothing).
type faultState struct {
	// err is the fault. Invariant: not nil.
	err error
	// reported is set once err was handed out in a Ready.
	reported bool
}

// lostLog records, under Config.ReportLostLog, that leader showed this
// peer's log lost entries up to commit, and reports whether it did; without
// the option it returns false and the caller goes on to the invariant
// check, which panics.
func (r *raft) lostLog(leader, commit uint64) bool {
	if !r.cfg.reportLostLog {
		return false
	}
	err := &LostLogError{ID: r.id, Leader: leader, Commit: commit,
		Committed: r.log.committed(), LastIndex: r.log.lastIndex()}
	r.cfg.logger.Errorf("%v", err)
	r.fault = &faultState{err: err}
	r.lead = None
	return true
}

// stepFaulted handles a message at a peer that takes no part: only what its
// own storage threads acknowledge is taken, a local read is reported
// dropped, a proposal refused, and everything else ignored.
func (r *raft) stepFaulted(m pb.Message) error {
	switch m.Type {
	case pb.MsgStorageAppendResp:
		r.handleStorageAppendResp(m)
	case pb.MsgStorageApplyResp:
		// NB: a faulted peer does not lead, so nothing is released.
		r.storageApplied(m.Entries)
	case pb.MsgProp:
		return ErrProposalDropped
	case pb.MsgReadIndex:
		if m.From == None && len(m.Entries) == 1 {
			r.dropRead(m.Entries[0].Data, r.fault.err)
		}
	}
	return nil
}
