package raft

import (
	"fmt"

	"github.com/quorate/raft/confchange"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// handleProposal appends a client proposal to the leader's log.
func (r *raft) handleProposal(m pb.Message) error {
	if len(m.Entries) == 0 {
		return fmt.Errorf("raft: %x received an empty proposal from %x", r.id, m.From)
	}
	if r.trk.Progress[r.id] == nil {
		// This leader was removed from the configuration: it cannot commit
		// anything new.
		return ErrProposalDropped
	}
	if r.leadTransferee != None {
		r.logger.Debugf("%x [term %d] transfer leadership to %x is in progress; dropping proposal", r.id, r.term, r.leadTransferee)
		return ErrProposalDropped
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Type != pb.EntryConfChange && e.Type != pb.EntryConfChangeV2 {
			continue
		}
		cc, err := decodeConfChange(*e)
		if err != nil {
			return fmt.Errorf("raft: %x refusing proposal from %x: %w", r.id, m.From, err)
		}
		if reason := r.confChangeRefusal(cc); reason != "" && !r.disableConfChangeValidation {
			r.logger.Infof("%x ignoring conf change %v at config %s: %s", r.id, cc, r.trk.Config, reason)
			// NB: the proposal keeps its place in the log as a no-op, so
			// that the indexes of the entries after it are unaffected.
			*e = pb.Entry{Type: pb.EntryNormal}
			continue
		}
		r.pendingConfIndex = r.raftLog.lastIndex() + uint64(i) + 1
	}
	if !r.appendEntry(m.Entries...) {
		return ErrProposalDropped
	}
	return nil
}

// decodeConfChange decodes the configuration change in a log entry and
// checks that it can be applied without a panic.
func decodeConfChange(e pb.Entry) (pb.ConfChangeV2, error) {
	var cc pb.ConfChangeV2
	switch e.Type {
	case pb.EntryConfChange:
		var v1 pb.ConfChange
		if err := v1.Unmarshal(e.Data); err != nil {
			return cc, fmt.Errorf("malformed ConfChange at index %d: %w", e.Index, err)
		}
		cc = v1.AsV2()
	case pb.EntryConfChangeV2:
		if err := cc.Unmarshal(e.Data); err != nil {
			return cc, fmt.Errorf("malformed ConfChangeV2 at index %d: %w", e.Index, err)
		}
	default:
		return cc, fmt.Errorf("entry at index %d of type %s is not a configuration change", e.Index, e.Type)
	}
	return cc, validConfChangeTransition(cc)
}

// validConfChangeTransition rejects transitions outside the defined values.
func validConfChangeTransition(cc pb.ConfChangeV2) error {
	switch cc.Transition {
	case pb.ConfChangeTransitionAuto, pb.ConfChangeTransitionJointImplicit, pb.ConfChangeTransitionJointExplicit:
		return nil
	}
	return fmt.Errorf("ConfChangeV2 has unknown transition %d", int32(cc.Transition))
}

// confChangeRefusal returns why the leader refuses to append cc now, or "".
// The active configuration may lag the log, so these checks are best effort
// (see Config.DisableConfChangeValidation).
func (r *raft) confChangeRefusal(cc pb.ConfChangeV2) string {
	alreadyPending := r.pendingConfIndex > r.raftLog.applied
	alreadyJoint := len(r.trk.Config.Voters[1]) > 0
	wantsLeaveJoint := len(cc.Changes) == 0
	switch {
	case alreadyPending:
		return fmt.Sprintf("possible unapplied conf change at index %d (applied to %d)", r.pendingConfIndex, r.raftLog.applied)
	case alreadyJoint && !wantsLeaveJoint:
		return "must transition out of joint config first"
	case !alreadyJoint && wantsLeaveJoint:
		return "not in joint state; refusing empty conf change"
	}
	return ""
}

// maybeAutoLeaveJoint proposes leaving a joint configuration entered with
// AutoLeave once the change that entered it is applied.
func (r *raft) maybeAutoLeaveJoint(applied uint64) {
	if !r.trk.Config.AutoLeave || applied < r.pendingConfIndex || r.state != StateLeader {
		return
	}
	// NB: an empty ConfChangeV2 (nil data) leaves the joint configuration; it
	// has no payload, so the uncommitted-size limit never refuses it. It can
	// be refused during a leadership transfer; this is retried on every
	// application until it goes through or another leader takes over.
	m := pb.Message{Type: pb.MsgProp, Entries: []pb.Entry{{Type: pb.EntryConfChangeV2}}}
	if err := r.Step(m); err != nil {
		r.logger.Debugf("not initiating automatic transition out of joint configuration %s: %v", r.trk.Config, err)
		return
	}
	r.logger.Infof("initiating automatic transition out of joint configuration %s", r.trk.Config)
}

// applyConfChange applies a committed configuration change and returns the
// resulting configuration. A change that cannot be applied (possible only
// with DisableConfChangeValidation, or with a corrupt log) is logged and has
// no effect; every peer applies the same entries to the same configuration,
// so they all skip it alike.
func (r *raft) applyConfChange(cc pb.ConfChangeV2) pb.ConfState {
	cs, err := r.tryApplyConfChange(cc)
	if err != nil {
		r.logger.Errorf("%x ignoring configuration change %v that cannot be applied to %s: %v", r.id, cc, r.trk.Config, err)
		return r.trk.ConfState()
	}
	return cs
}

// tryApplyConfChange applies cc, or returns why it cannot.
func (r *raft) tryApplyConfChange(cc pb.ConfChangeV2) (pb.ConfState, error) {
	if err := validConfChangeTransition(cc); err != nil {
		return pb.ConfState{}, err
	}
	changer := confchange.Changer{Tracker: r.trk, LastIndex: r.raftLog.lastIndex()}
	var cfg tracker.Config
	var progress tracker.ProgressMap
	var err error
	if cc.LeaveJoint() {
		cfg, progress, err = changer.LeaveJoint()
	} else if autoLeave, ok := cc.EnterJoint(); ok {
		cfg, progress, err = changer.EnterJoint(autoLeave, cc.Changes...)
	} else {
		cfg, progress, err = changer.Simple(cc.Changes...)
	}
	if err != nil {
		return pb.ConfState{}, err
	}
	return r.switchToConfig(cfg, progress), nil
}

// switchToConfig makes cfg and progress the active configuration and returns
// it as a ConfState. A leader commits what the new quorum allows and probes
// new peers right away.
func (r *raft) switchToConfig(cfg tracker.Config, progress tracker.ProgressMap) pb.ConfState {
	r.trk.Config = cfg
	r.trk.Progress = progress

	r.logger.Infof("%x switched to configuration %s", r.id, r.trk.Config)
	cs := r.trk.ConfState()
	pr, ok := r.trk.Progress[r.id]
	r.isLearner = ok && pr.IsLearner

	if (!ok || r.isLearner) && r.state == StateLeader {
		// This leader was removed or demoted. It keeps leading (without
		// accepting proposals) unless asked to step down.
		if r.stepDownOnRemoval {
			r.becomeFollower(r.term, None)
		}
		return cs
	}
	if r.state != StateLeader || len(cs.Voters) == 0 {
		return cs
	}
	// The new quorum may commit more, and new peers (in probe state, not
	// paused) are due a probe now rather than at the next heartbeat or
	// proposal: flushOutgoing sends both with the next Ready.
	r.maybeCommit()
	r.appendsPending = true
	if _, ok := r.trk.Config.Voters.IDs()[r.leadTransferee]; !ok && r.leadTransferee != None {
		// The transferee was removed or demoted.
		r.abortLeaderTransfer()
	}
	return cs
}
