package compat

// The watched peer: a peer of either library whose every call reports to the
// run's watch, and which hands the simulation only the ReadStates its read
// oracles may check, keeping those that may show a known v3.6 flaw.

import (
	"fmt"
	"slices"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/rafttest/sim"
)

// watchedPeer is a peer of either library that reports to its run's
// watch, and hands the simulation only the ReadStates the read oracles may
// check.
type watchedPeer struct {
	w     *runWatch
	id    uint64
	lib   library
	inner sim.Peer
	// storage is the incarnation's storage; async is its
	// Config.AsyncStorageWrites.
	storage raft.Storage
	async   bool
	// rd is the inner peer's last Ready, whole.
	rd raft.Ready
	// confQueue lists the indexes of the configuration changes handed out
	// for application and not yet applied, in order.
	confQueue []uint64
}

var _ sim.Peer = (*watchedPeer)(nil)

func (p *watchedPeer) node() *nodeWatch { return &p.w.nodes[p.id] }

// noteStatus records the peer's status and what it has applied.
func (p *watchedPeer) noteStatus() {
	st := p.inner.BasicStatus()
	p.node().status = st
	p.w.maxApplied = max(p.w.maxApplied, st.Applied)
	if st.RaftState == raft.StateLeader {
		p.w.maxLeaderTerm = max(p.w.maxLeaderTerm, st.Term)
	}
}

func (p *watchedPeer) isLeader() bool { return p.node().status.RaftState == raft.StateLeader }

// receiptFlaw returns the known v3.6 flaw an answer of the peer, if it
// is an etcd-raft leader, to a read request reaching it now may show:
// classEtcdRemovedLeader if it is not a voter of its configuration,
// classEtcdSoleVoter if it is the only one and has not committed an
// entry of its term yet, and otherwise classChecked.
func (p *watchedPeer) receiptFlaw() readClass {
	ep, ok := p.inner.(*EtcdPeer)
	if !ok || !p.isLeader() {
		return classChecked
	}
	in, out := ep.Voters()
	if !slices.Contains(in, p.id) && !slices.Contains(out, p.id) {
		return classEtcdRemovedLeader
	}
	for _, id := range slices.Concat(in, out) {
		if id != p.id {
			return classChecked
		}
	}
	st := p.node().status
	// NB: etcd-raft commits only what it has persisted, so the committed
	// entry is in storage (or is the snapshot's).
	if t, err := p.storage.Term(st.Commit); err == nil && t == st.Term {
		return classChecked
	}
	return classEtcdSoleVoter
}

func (p *watchedPeer) Tick() {
	p.inner.Tick()
	p.noteStatus()
}

func (p *watchedPeer) Campaign() error {
	defer p.noteStatus()
	return p.inner.Campaign()
}

func (p *watchedPeer) Propose(data []byte) error {
	defer p.noteStatus()
	return p.inner.Propose(data)
}

func (p *watchedPeer) ProposeConfChange(cc pb.ConfChangeI) error {
	defer p.noteStatus()
	return p.inner.ProposeConfChange(cc)
}

func (p *watchedPeer) ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState {
	before := p.node().status
	cs := p.inner.ApplyConfChange(cc)
	if len(p.confQueue) == 0 {
		panic(fmt.Sprintf("compat: node %d applies a configuration change it was not handed", p.id))
	}
	index := p.confQueue[0]
	p.confQueue = p.confQueue[1:]
	if _, ok := cc.AsV1(); ok {
		p.w.stats.confV1[p.lib]++
	} else {
		p.w.stats.confV2[p.lib]++
	}
	if index > p.w.newestConfIndex {
		p.w.newestConf, p.w.newestConfIndex = *cs, index
	}
	if p.lib == etcd36 && before.RaftState == raft.StateLeader && !isVoterOf(*cs, p.id) {
		// NB: the hazard is that a voter of the new configuration does
		// not know yet that the change is committed.
		var unaware []uint64
		for id := uint64(1); id <= sim.MaxNodes; id++ {
			if isVoterOf(*cs, id) && p.w.nodes[id].status.Commit < index {
				unaware = append(unaware, id)
			}
		}
		if len(unaware) > 0 {
			p.w.etcdLeaderExits[index] = before.Term
			p.w.tracef("%d (etcd) leading term %d applies its exit at index %d; voters %v do not know it is committed", p.id, before.Term, index, unaware)
		}
	}
	p.noteStatus()
	return cs
}

func (p *watchedPeer) Step(m pb.Message) error {
	switch {
	case m.Type == pb.MsgReadIndexResp && len(m.Entries) == 1:
		p.noteAnswer(m)
	case m.Type == pb.MsgReadIndex && len(m.Entries) == 1:
		// A request from a follower reaching us: if we lead it, note
		// whether we were its only voter when it arrived.
		flaw := p.receiptFlaw()
		defer func() {
			rk := requestKey{m.From, string(m.Entries[0].Data), m.Entries[0].Index}
			p.node().flawAt[rk] = max(flaw, p.receiptFlaw())
		}()
	}
	defer p.noteStatus()
	return p.inner.Step(m)
}

// noteAnswer records who fixed the index of a leader's answer stepped into
// the peer, if the peer will turn it into a ReadState: an etcd-raft
// follower turns every answer into one; ours only the answer to the latest
// attempt for the context, once.
func (p *watchedPeer) noteAnswer(m pb.Message) {
	e := m.Entries[0]
	rec := p.node().reads[string(e.Data)]
	if rec == nil {
		return
	}
	if p.lib == ours {
		if rec.attempt == 0 || e.Index != rec.attempt {
			return
		}
		rec.attempt = 0
	}
	d, ok := p.w.answers[answerKey{m.From, p.id, string(e.Data), e.Index, m.Index}]
	if !ok {
		// Not seen leaving a leader: count it as ours, so that it is
		// checked.
		d = decider{id: m.From, lib: ours}
	}
	if rec.accepted == nil {
		rec.accepted = make(map[uint64]decider)
	}
	rec.accepted[m.Index] = d
}

func (p *watchedPeer) HasReady() bool { return p.inner.HasReady() }

func (p *watchedPeer) Ready() raft.Ready {
	rd := p.inner.Ready()
	p.rd = rd
	p.noteStatus()
	p.noteMessages(rd.Messages)
	if !p.async {
		// NB: with AsyncStorageWrites the apply thread's messages carry
		// the entries to apply (see noteMessages).
		p.noteConfChanges(rd.CommittedEntries)
	}
	out := rd
	out.ReadStates = nil
	for _, rs := range rd.ReadStates {
		if p.admit(rs) {
			out.ReadStates = append(out.ReadStates, rs)
		}
	}
	return out
}

// noteConfChanges queues the configuration changes among entries handed
// out for application.
func (p *watchedPeer) noteConfChanges(ents []pb.Entry) {
	for _, e := range ents {
		if e.Type == pb.EntryConfChange || e.Type == pb.EntryConfChangeV2 {
			p.confQueue = append(p.confQueue, e.Index)
		}
	}
}

// noteMessages records what the coverage checks count and the answers to
// forwarded reads, in the messages of a Ready (and, with
// AsyncStorageWrites, those a storage thread will send).
func (p *watchedPeer) noteMessages(ms []pb.Message) {
	for i := range ms {
		m := &ms[i]
		switch m.To {
		case raft.LocalAppendThread:
			p.noteMessages(m.Responses)
			continue
		case raft.LocalApplyThread:
			p.noteConfChanges(m.Entries)
			p.noteMessages(m.Responses)
			continue
		}
		if m.To > sim.MaxNodes {
			continue
		}
		to := p.w.nodes[m.To].lib
		switch m.Type {
		case pb.MsgTimeoutNow:
			p.w.stats.transfers[p.lib][to]++
		case pb.MsgSnap:
			p.w.stats.snapshots[p.lib][to]++
		case pb.MsgReadIndex:
			if m.From == p.id && len(m.Entries) == 1 {
				p.w.stats.forwardedReads[p.lib][to]++
				if rec := p.node().reads[string(m.Entries[0].Data)]; rec != nil && p.lib == ours {
					rec.attempt = m.Entries[0].Index
				}
			}
		case pb.MsgReadIndexResp:
			if len(m.Entries) == 1 {
				e := m.Entries[0]
				rk := requestKey{m.To, string(e.Data), e.Index}
				p.w.answers[answerKey{p.id, m.To, string(e.Data), e.Index, m.Index}] = decider{id: p.id, lib: p.lib, flaw: p.node().flawAt[rk]}
				delete(p.node().flawAt, rk)
			}
		}
	}
}

// admit classifies a ReadState the peer hands out, and reports whether
// the read oracles may check it. A ReadState kept from them is checked
// here and counted.
func (p *watchedPeer) admit(rs raft.ReadState) bool {
	nw := p.node()
	ctx := string(rs.RequestCtx)
	rec := nw.reads[ctx]
	if rec == nil {
		// Not a context of this node: the oracles report it.
		return true
	}
	d, forwarded := rec.accepted[rs.Index]
	if forwarded && p.lib == ours {
		// NB: ours hands out one ReadState per accepted answer; a second
		// one must not find a decider here.
		delete(rec.accepted, rs.Index)
	}
	if !forwarded {
		rk := requestKey{p.id, ctx, 0}
		d = decider{id: p.id, lib: p.lib, flaw: nw.flawAt[rk]}
		delete(nw.flawAt, rk)
	}
	class := classChecked
	switch {
	case d.lib == etcd36 && p.w.lease:
		class = classEtcdLease
	case d.lib == etcd36 && d.flaw != classChecked:
		class = d.flaw
	case p.lib == etcd36 && rec.by != p:
		class = classEtcdEarlier
	case p.lib == etcd36 && rec.issues > 1:
		class = classEtcdRetry
	case p.lib == etcd36 && rec.answered:
		class = classEtcdDouble
	}
	stale, double := rs.Index < rec.bound, rec.answered
	rec.answered = true
	if double && p.lib == ours && class != classChecked {
		// Whatever fixed the index, answering one call twice is our
		// node's doing: never kept from the oracles' eyes.
		p.w.failf("node %d (ours) hands out a second ReadState for %q (index %d), a read the oracles do not check (%s)", p.id, ctx, rs.Index, class)
	}
	if class == classChecked {
		p.w.stats.passed[p.lib][d.lib]++
		switch {
		case p.lib == ours && d.lib == ours:
			if p.w.lease {
				p.w.stats.passedLease++
			}
			if rec.issues > 1 {
				p.w.stats.passedRetries++
			}
		case p.lib == ours && rec.issues > 1:
			p.w.stats.passedRetriesEtcd++
		}
		return true
	}
	c := &p.w.stats.exempt[class]
	c.reads++
	if stale {
		c.stale++
	}
	if double {
		c.double++
	}
	p.w.tracef("%d (%s) ReadState %q index %d fixed by %d (%s): not checked, %s (applied anywhere at issue: %d, answered before: %t)",
		p.id, p.lib, ctx, rs.Index, d.id, d.lib, class, rec.bound, double)
	return false
}

func (p *watchedPeer) Advance(rd raft.Ready) {
	p.inner.Advance(p.rd)
	p.rd = raft.Ready{}
	p.noteStatus()
}

func (p *watchedPeer) ReadIndex(rctx []byte) {
	nw := p.node()
	ctx := string(rctx)
	rec := nw.reads[ctx]
	if rec == nil {
		rec = &readRecord{}
		nw.reads[ctx] = rec
	}
	rec.issues++
	rec.by = p
	rec.bound = p.w.maxApplied
	rec.answered = false
	// NB: an earlier attempt's answer, even one already stepped in, no
	// longer turns into a ReadState of ours.
	rec.attempt, rec.accepted = 0, nil
	flaw := p.receiptFlaw()
	p.inner.ReadIndex(rctx)
	p.noteStatus()
	nw.flawAt[requestKey{p.id, ctx, 0}] = max(flaw, p.receiptFlaw())
}

func (p *watchedPeer) TransferLeader(transferee uint64) {
	p.inner.TransferLeader(transferee)
	p.noteStatus()
}

func (p *watchedPeer) ForgetLeader() error {
	defer p.noteStatus()
	return p.inner.ForgetLeader()
}

func (p *watchedPeer) ReportUnreachable(id uint64) {
	p.inner.ReportUnreachable(id)
	p.noteStatus()
}

func (p *watchedPeer) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	p.inner.ReportSnapshot(id, status)
	p.noteStatus()
}

func (p *watchedPeer) BasicStatus() raft.BasicStatus { return p.inner.BasicStatus() }
