package raft

import (
	"fmt"
	"math"
	"slices"

	"github.com/quorate/raft/confchange"
	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// membership is the active configuration: who votes and who only learns.
// As in etcd-raft, a configuration change takes effect when the application
// applies its entry (ApplyConfChange), not when it is appended; a leader
// therefore admits one change at a time (see leaderState.pendingConfIndex)
// and a peer does not campaign while a committed change awaits application.
//
// membership holds the configuration only. What a leader knows of each
// member's log is the leader's (replication); followers keep none of it.
//
// Invariant: the configuration is valid (confchange's invariants), or
// empty before the peer first learns one.
//
// It is kept in a compact form, since every peer holds one and most read
// only its voters: ids holds the incoming voters, the outgoing voters, the
// learners and the learners to be (LearnersNext), each part in increasing
// order, and ends[k] is where part k ends in ids (the last part ends at
// len(ids)). The maps of tracker.Config are built only when asked for
// (config), which the rare paths do: configuration changes and Status.
type membership struct {
	ids       []uint64
	ends      [3]uint32
	autoLeave bool
	// made has bit k set if part k came as a map, possibly empty, rather
	// than nil, so that config returns the maps it was given alike.
	made uint8
}

// membershipOf returns cfg in the compact form.
func membershipOf(cfg tracker.Config) membership {
	var m membership
	m.set(cfg)
	return m
}

// set makes cfg the configuration.
func (m *membership) set(cfg tracker.Config) {
	parts := [4]quorum.MajorityConfig{cfg.Voters[0], cfg.Voters[1],
		quorum.MajorityConfig(cfg.Learners), quorum.MajorityConfig(cfg.LearnersNext)}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	ids := make([]uint64, 0, n)
	m.made = 0
	for k, p := range parts {
		if p != nil {
			m.made |= 1 << k
		}
		from := len(ids)
		for id := range p {
			ids = append(ids, id)
		}
		slices.Sort(ids[from:])
		if k < len(m.ends) {
			m.ends[k] = uint32(len(ids))
		}
	}
	m.ids, m.autoLeave = ids, cfg.AutoLeave
}

// part returns part k of ids (see membership), capped.
func (m *membership) part(k int) voterSet {
	from, to := uint32(0), uint32(len(m.ids))
	if k > 0 {
		from = m.ends[k-1]
	}
	if k < len(m.ends) {
		to = m.ends[k]
	}
	return voterSet(m.ids[from:to:to])
}

// voters returns the voters of the configuration.
func (m *membership) voters() jointVoters { return jointVoters{m.part(0), m.part(1)} }

// learners returns the learners, and learnersNext the voters of the
// outgoing half that become learners when the joint configuration is left.
func (m *membership) learners() voterSet     { return m.part(2) }
func (m *membership) learnersNext() voterSet { return m.part(3) }

// config returns the configuration as a tracker.Config, with fresh maps
// the caller may keep or change.
func (m *membership) config() tracker.Config {
	toMap := func(k int) map[uint64]struct{} {
		if m.made&(1<<k) == 0 {
			return nil
		}
		s := m.part(k)
		set := make(map[uint64]struct{}, len(s))
		for _, id := range s {
			set[id] = struct{}{}
		}
		return set
	}
	return tracker.Config{Voters: quorum.JointConfig{toMap(0), toMap(1)}, AutoLeave: m.autoLeave,
		Learners: toMap(2), LearnersNext: toMap(3)}
}

// eachMember calls fn once for every member, voters and learners, in
// increasing ID order, with whether it is a learner only (a learner that
// also votes in the outgoing half counts as a voter). It does not
// allocate.
func (m *membership) eachMember(fn func(id uint64, learner bool)) {
	in, out, lrn := m.part(0), m.part(1), m.part(2)
	for len(in)+len(out)+len(lrn) > 0 {
		// NB: each part is in increasing order: the smallest head is the
		// next member.
		id := uint64(math.MaxUint64)
		for _, s := range [...]voterSet{in, out, lrn} {
			if len(s) > 0 {
				id = min(id, s[0])
			}
		}
		voter := false
		if len(in) > 0 && in[0] == id {
			in, voter = in[1:], true
		}
		if len(out) > 0 && out[0] == id {
			out, voter = out[1:], true
		}
		learner := false
		if len(lrn) > 0 && lrn[0] == id {
			lrn, learner = lrn[1:], !voter
		}
		fn(id, learner)
	}
}

// isMember reports whether id is a voter (in either half of a joint
// configuration) or a learner.
func (m *membership) isMember(id uint64) bool {
	// NB: the voters and the learners are the first three parts of ids
	// (the learners to be vote in the outgoing half until then).
	for _, v := range m.ids[:m.ends[2]] {
		if v == id {
			return true
		}
	}
	return false
}

// isVoter reports whether id votes in either half of the configuration.
// NB: a member of LearnersNext still votes in the outgoing half.
func (m *membership) isVoter(id uint64) bool {
	// NB: both halves lie at the front of ids, one after the other.
	for _, v := range m.ids[:m.ends[1]] {
		if v == id {
			return true
		}
	}
	return false
}

// isSoleVoter reports whether id is the only voter of a configuration that
// is not joint.
func (m *membership) isSoleVoter(id uint64) bool {
	// NB: the incoming half is ids[:ends[0]], the outgoing one follows it.
	return m.ends[0] == 1 && m.ends[1] == 1 && m.ids[0] == id
}

// confState returns the configuration as the ConfState recorded in
// snapshots and returned by ApplyConfChange (what confState of config()
// returns), from the sorted parts, without building maps.
func (m *membership) confState() pb.ConfState {
	ids := func(k int) []uint64 {
		if p := m.part(k); len(p) > 0 {
			return slices.Clone([]uint64(p))
		}
		return nil
	}
	return pb.ConfState{Voters: ids(0), VotersOutgoing: ids(1), Learners: ids(2), LearnersNext: ids(3),
		AutoLeave: m.autoLeave}
}

// isJoint reports whether the configuration is joint (thesis 4.3).
func (m *membership) isJoint() bool {
	return len(m.part(1)) > 0
}

// promotable reports whether the peer may campaign: it votes in the active
// configuration and has no snapshot waiting to be made durable.
func (r *raft) promotable() bool {
	return r.conf.isVoter(r.id) && !r.log.hasPendingSnapshot()
}

// placeholderProgress returns a Progress for every member of cfg, for a
// Changer whose resulting Progress is discarded: every voter shares one,
// every learner another, probing from next, without a window. A Changer
// never writes to the Progress it is given (it copies one before changing
// it), so sharing is safe.
func placeholderProgress(cfg tracker.Config, next uint64) tracker.ProgressMap {
	prs := make(tracker.ProgressMap, len(cfg.Voters[0])+len(cfg.Voters[1])+len(cfg.Learners))
	voter, learner := &tracker.Progress{Next: next}, &tracker.Progress{Next: next, IsLearner: true}
	for _, half := range cfg.Voters {
		for id := range half {
			prs[id] = voter
		}
	}
	for id := range cfg.Learners {
		if prs[id] == nil {
			prs[id] = learner
		}
	}
	return prs
}

// changer returns a confchange.Changer over the active configuration. A
// leader's changes carry its Progress along; on other peers the Progress
// is a placeholder that the result's is discarded with.
func (r *raft) changer() confchange.Changer {
	if r.leading != nil {
		return r.changerOver(r.conf.config(), r.leading.repl.progressMap(r.windowLimits()))
	}
	return r.changerFor(r.conf.config())
}

// changerFor returns a confchange.Changer over cfg, with placeholder
// Progress (see placeholderProgress), for working out where changes lead.
func (r *raft) changerFor(cfg tracker.Config) confchange.Changer {
	return r.changerOver(cfg, placeholderProgress(cfg, r.log.lastIndex()+1))
}

// changerOver returns a confchange.Changer over cfg and prs, adding members
// with the peer's window limits after its last index.
func (r *raft) changerOver(cfg tracker.Config, prs tracker.ProgressMap) confchange.Changer {
	// NB: the tracker is built as it is used rather than with
	// MakeProgressTracker, whose fresh maps would be dropped at once.
	trk := tracker.ProgressTracker{Config: cfg, Progress: prs,
		MaxInflight: r.cfg.maxInflight, MaxInflightBytes: r.cfg.maxInflightBytes}
	return confchange.Changer{Tracker: trk, LastIndex: r.log.lastIndex()}
}

// restoreConfState installs configuration cs, read from Storage, at
// startup.
func (r *raft) restoreConfState(cs pb.ConfState) error {
	cfg, prs, err := r.restoredConfig(cs, r.log.lastIndex())
	if err != nil {
		return err
	}
	r.switchConfig(cfg, prs)
	return nil
}

// restoredConfig builds the configuration described by cs, for a log
// ending at lastIndex, and checks that it says exactly what cs says (a
// ConfState listing a voter twice, say, restores into something else).
func (r *raft) restoredConfig(cs pb.ConfState, lastIndex uint64) (tracker.Config, tracker.ProgressMap, error) {
	empty := confchange.Changer{
		Tracker:   tracker.MakeProgressTracker(r.cfg.maxInflight, r.cfg.maxInflightBytes),
		LastIndex: lastIndex,
	}
	cfg, prs, err := confchange.Restore(empty, cs)
	if err != nil {
		return tracker.Config{}, nil, err
	}
	restored := tracker.ProgressTracker{Config: cfg, Progress: prs}
	if err := cs.Equivalent(restored.ConfState()); err != nil {
		return tracker.Config{}, nil, err
	}
	return cfg, prs, nil
}

// applyConfChange applies a committed configuration change and returns the
// resulting configuration. A change that cannot be applied (possible only
// with DisableConfChangeValidation, or with a corrupt log) is logged and has
// no effect; every peer applies the same entries to the same configuration,
// so they all skip it alike.
func (r *raft) applyConfChange(cc pb.ConfChangeV2) pb.ConfState {
	cs, err := r.tryApplyConfChange(cc)
	if err != nil {
		r.cfg.logger.Errorf("%x skips configuration change %v, which does not apply to %s: %v", r.id, cc, r.conf.config(), err)
		return r.conf.confState()
	}
	return cs
}

// tryApplyConfChange applies cc, or returns why it cannot.
func (r *raft) tryApplyConfChange(cc pb.ConfChangeV2) (pb.ConfState, error) {
	cfg, prs, err := changedConfig(r.changer(), cc)
	if err != nil {
		return pb.ConfState{}, err
	}
	return r.switchConfig(cfg, prs), nil
}

// changedConfig returns the configuration and Progress c's configuration
// becomes with cc, or why cc does not apply to it.
func changedConfig(c confchange.Changer, cc pb.ConfChangeV2) (tracker.Config, tracker.ProgressMap, error) {
	if err := validConfChangeTransition(cc); err != nil {
		return tracker.Config{}, nil, err
	}
	autoLeave, joint := cc.EnterJoint()
	switch {
	case cc.LeaveJoint():
		return c.LeaveJoint()
	case joint:
		return c.EnterJoint(autoLeave, cc.Changes...)
	}
	return c.Simple(cc.Changes...)
}

// switchConfig makes cfg the active configuration and returns it as a
// ConfState. A leader takes prs as its view of the members, commits what the
// new quorum allows, and owes new members a probe. A leader that is no
// longer a voter keeps leading (it cannot commit new entries) unless
// StepDownOnRemoval says otherwise.
func (r *raft) switchConfig(cfg tracker.Config, prs tracker.ProgressMap) pb.ConfState {
	r.stir()
	r.conf.set(cfg)
	r.cfg.logger.Infof("%x applies configuration %s", r.id, cfg)
	cs := r.conf.confState()
	l := r.leading
	if l == nil {
		return cs
	}
	l.repl.adopt(prs, r.conf.voters())
	r.pruneDepartures()
	r.out.sizeForBroadcast(len(prs) - 1)
	if r.liftCommitCap() && r.maybeCommit() {
		// The entries its exit held back count in the new configuration.
		r.onCommit()
	}
	if !r.conf.isVoter(r.id) {
		if r.cfg.stepDownOnRemoval {
			r.becomeFollower(r.term, None)
		}
		return cs
	}
	if len(cs.Voters) == 0 {
		return cs
	}
	if r.maybeCommit() {
		r.onCommit()
	}
	l.repl.markAllDue(r)
	if to := l.transferee(); to != None && !r.conf.isVoter(to) {
		// The transferee was removed or demoted.
		l.abortTransfer()
	}
	return cs
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

// validConfChangeTransition rejects transitions and change types outside
// the defined values.
func validConfChangeTransition(cc pb.ConfChangeV2) error {
	switch cc.Transition {
	case pb.ConfChangeTransitionAuto, pb.ConfChangeTransitionJointImplicit, pb.ConfChangeTransitionJointExplicit:
	default:
		return fmt.Errorf("ConfChangeV2 has unknown transition %d", int32(cc.Transition))
	}
	for i, c := range cc.Changes {
		switch c.Type {
		case pb.ConfChangeAddNode, pb.ConfChangeRemoveNode, pb.ConfChangeUpdateNode, pb.ConfChangeAddLearnerNode:
		default:
			return fmt.Errorf("change %d of node %x has unknown type %d", i, c.NodeID, int32(c.Type))
		}
	}
	return nil
}

// isConfChange reports whether e carries a configuration change.
func isConfChange(e *pb.Entry) bool {
	return e.Type == pb.EntryConfChange || e.Type == pb.EntryConfChangeV2
}

// confChangeRefusal returns why the leader refuses to append cc now, or ""
// and the configuration cc leads to. Only one change may be pending, so
// with none pending the active configuration is the one cc will be applied
// to, and cc is tried on it: a change that could not be applied, such as
// one removing every voter, is refused here rather than committed and then
// skipped by every peer (and fatal to etcd-raft v3.6 peers in a mixed
// group, which panic applying it).
func (r *raft) confChangeRefusal(cc pb.ConfChangeV2) (string, tracker.Config) {
	applied := r.log.applied()
	pending := r.leading.pendingConfIndex
	leaving := len(cc.Changes) == 0
	switch {
	case pending > applied:
		return fmt.Sprintf("the change at index %d may not be applied yet (applied up to %d)", pending, applied), tracker.Config{}
	case r.conf.isJoint() && !leaving:
		return "the configuration is joint: leave it first", tracker.Config{}
	case !r.conf.isJoint() && leaving:
		return "an empty change leaves a joint configuration, and this one is not joint", tracker.Config{}
	}
	next, _, err := changedConfig(r.changerFor(r.conf.config()), cc)
	if err != nil {
		return "it does not apply to the active configuration: " + err.Error(), tracker.Config{}
	}
	return "", next
}

// maybeAutoLeaveJoint proposes leaving a joint configuration entered with
// AutoLeave once the change that entered it is applied.
// NB: asked at every application, and answered inline unless a leader is
// in a joint configuration with AutoLeave (autoLeaveJoint, whose message
// takes a large frame).
func (r *raft) maybeAutoLeaveJoint() {
	if r.leading != nil && r.conf.autoLeave {
		r.autoLeaveJoint()
	}
}

// autoLeaveJoint is maybeAutoLeaveJoint for a leader in a joint
// configuration with AutoLeave.
func (r *raft) autoLeaveJoint() {
	if r.log.applied() < r.leading.pendingConfIndex {
		return
	}
	// NB: an empty ConfChangeV2 (nil data) leaves the joint configuration; it
	// has no payload, so the uncommitted-size limit never refuses it. It can
	// be refused during a leadership transfer; this is retried on every
	// application until it goes through or another leader takes over.
	m := pb.Message{Type: pb.MsgProp, Entries: []pb.Entry{{Type: pb.EntryConfChangeV2}}}
	if err := r.Step(m); err != nil {
		r.cfg.logger.Debugf("%x does not leave joint configuration %s yet: %v", r.id, r.conf.config(), err)
		return
	}
	r.cfg.logger.Infof("%x proposes to leave joint configuration %s", r.id, r.conf.config())
}

// inConfState reports whether id appears anywhere in cs. NB: LearnersNext
// need not be checked; its members are in VotersOutgoing.
func inConfState(cs pb.ConfState, id uint64) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id) || slices.Contains(cs.VotersOutgoing, id)
}
