package sim

// The safety oracles' record and checks: who led each term and what was
// committed at each index, checked against every leader, applied entry and
// snapshot; and the checks of everything a Ready hands out (its HardState,
// log, committed entries, messages, ReadStates and dropped reads).

import (
	"bytes"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// committedEntry is what the oracles know of the entry committed at an
// index.
type committedEntry struct {
	known bool
	// fromSnapshot is set while only a snapshot's term is known.
	fromSnapshot bool
	term         uint64
	typ          pb.EntryType
	data         []byte
	// commitTerm is the term of the leader seen committing the entry, or 0
	// if no leader was seen doing it.
	commitTerm uint64
}

// oracleState is the record the oracles check nodes against: who led each
// term, what was committed at each index, and how far anything was
// applied.
type oracleState struct {
	// leaders maps each term to the node seen leading it.
	leaders map[uint64]uint64
	// committed[i] is the entry committed at index i.
	committed []committedEntry
	// recordedUpTo is the highest index up to which the entries committed
	// by leaders have been recorded.
	recordedUpTo uint64
	// maxApplied is the highest index applied by any node, first by
	// maxAppliedBy.
	maxApplied, maxAppliedBy uint64
	// lastConf is the configuration after the configuration change of
	// highest index applied anywhere, lastConfIndex.
	lastConf      pb.ConfState
	lastConfIndex uint64
}

func (o *oracleState) init() {
	o.leaders = make(map[uint64]uint64)
}

// at returns the record of index i, growing the table as needed.
func (o *oracleState) at(i uint64) *committedEntry {
	for uint64(len(o.committed)) <= i {
		o.committed = append(o.committed, committedEntry{})
	}
	return &o.committed[i]
}

// noteLeader records that n leads term; another leader of the same term
// is an ElectionSafety violation.
func (o *oracleState) noteLeader(c *cluster, n *node, term uint64) {
	l, ok := o.leaders[term]
	switch {
	case !ok:
		o.leaders[term] = n.id
		c.stats.Leaders++
	case l != n.id:
		c.fail(ElectionSafety, n.id, "node %d became leader of term %d, which node %d already leads", n.id, term, l)
	}
}

// noteCommit records the entries leader n of term has committed up to
// commit, from what n handed out.
func (o *oracleState) noteCommit(c *cluster, n *node, commit, term uint64) {
	for i := o.recordedUpTo + 1; i <= commit; i++ {
		if i <= n.hlog.offset {
			// Behind the leader's snapshot: the entry is not known here.
			o.recordedUpTo = i
			continue
		}
		e, ok := n.hlog.entry(i)
		if !ok {
			return
		}
		ce := o.at(i)
		switch {
		case !ce.known || ce.fromSnapshot && ce.term == e.term:
			*ce = committedEntry{known: true, term: e.term, typ: e.typ, data: e.data, commitTerm: term}
		case ce.term != e.term || ce.typ != e.typ || !bytes.Equal(ce.data, e.data):
			c.fail(AppliedEntries, n.id, "leader %d of term %d committed %s at index %d, where %s was committed",
				n.id, term, describeShadow(e.term, e.typ, e.data), i, describeShadow(ce.term, ce.typ, ce.data))
			return
		case ce.commitTerm == 0:
			ce.commitTerm = term
		}
		o.recordedUpTo = i
		o.checkLaterLeaders(c, i)
	}
}

// checkLaterLeaders checks that the leaders of terms after the one index i
// was committed in hold it. NB: the commit can be seen after a later
// leader was elected (the old leader hears the acknowledgements late), so
// checkLeaderCompleteness, which runs when a leader starts, misses it.
func (o *oracleState) checkLaterLeaders(c *cluster, i uint64) {
	ce := &o.committed[i]
	for id := uint64(1); id <= MaxNodes; id++ {
		n := c.nodes[id]
		if n == nil || !n.alive() || n.status.RaftState != raft.StateLeader ||
			n.checkedLeaderTerm != n.status.Term || n.status.Term <= ce.commitTerm || i <= n.hlog.offset {
			continue
		}
		if got, ok := n.hlog.term(i); !ok || got != ce.term {
			c.fail(LeaderCompleteness, n.id, "node %d leads term %d without the entry at index %d (term %d) committed in term %d; it has term %d there (known %t), last index %d",
				n.id, n.status.Term, i, ce.term, ce.commitTerm, got, ok, n.hlog.last())
			return
		}
	}
}

// checkApplied compares an entry n applies with the one committed at its
// index.
func (o *oracleState) checkApplied(c *cluster, n *node, e *pb.Entry) {
	ce := o.at(e.Index)
	switch {
	case !ce.known || ce.fromSnapshot && ce.term == e.Term:
		*ce = committedEntry{known: true, term: e.Term, typ: e.Type, data: e.Data, commitTerm: ce.commitTerm}
	case ce.term != e.Term || ce.typ != e.Type || !bytes.Equal(ce.data, e.Data):
		c.fail(AppliedEntries, n.id, "node %d applied %s at index %d, where %s was committed",
			n.id, describeShadow(e.Term, e.Type, e.Data), e.Index, describeShadow(ce.term, ce.typ, ce.data))
	}
}

// noteSnapshot checks a snapshot n installs against the entry committed at
// its index.
func (o *oracleState) noteSnapshot(c *cluster, n *node, snap pb.Snapshot) {
	i, t := snap.Metadata.Index, snap.Metadata.Term
	ce := o.at(i)
	switch {
	case !ce.known:
		*ce = committedEntry{known: true, fromSnapshot: true, term: t}
	case ce.term != t:
		c.fail(AppliedEntries, n.id, "node %d installs snapshot %s, but the entry committed at index %d has term %d",
			n.id, raft.DescribeSnapshot(snap), i, ce.term)
	}
}

// noteApplied records that n's state machine reached index i.
func (o *oracleState) noteApplied(c *cluster, n *node, i uint64) {
	if i > o.maxApplied {
		o.maxApplied, o.maxAppliedBy = i, n.id
		if e := o.at(i); e.typ == pb.EntryNormal && len(e.data) > 0 {
			c.stats.Applied++
		}
	}
}

// noteConf records the configuration cs, in force from index on. It
// reports whether cs is the newest configuration seen so far.
func (o *oracleState) noteConf(index uint64, cs pb.ConfState) bool {
	if index <= o.lastConfIndex {
		return false
	}
	o.lastConf, o.lastConfIndex = cs, index
	return true
}

// checkLeaderCompleteness checks that leader n of term holds every entry
// committed by a leader of an earlier term (Raft paper 5.4.1).
func (o *oracleState) checkLeaderCompleteness(c *cluster, n *node, term uint64) {
	for i := n.hlog.offset; i < uint64(len(o.committed)); i++ {
		ce := &o.committed[i]
		if !ce.known || ce.commitTerm == 0 || ce.commitTerm >= term {
			continue
		}
		if got, ok := n.hlog.term(i); !ok || got != ce.term {
			c.fail(LeaderCompleteness, n.id, "node %d leads term %d without the entry at index %d (term %d) committed in term %d; it has term %d there (known %t), last index %d",
				n.id, term, i, ce.term, ce.commitTerm, got, ok, n.hlog.last())
			return
		}
	}
}

// checkReady checks a Ready n just handed out, and records what it hands
// out: the log, the HardState, the committed entries, the ReadStates.
func (c *cluster) checkReady(n *node, rd *raft.Ready) {
	prevCommit := n.handedHS.Commit
	if !c.checkReadyHardState(n, rd) || c.violation != nil {
		return
	}
	for i := range rd.Messages {
		c.checkMessage(n, &rd.Messages[i])
	}
	if !c.recordReadySnapshot(n, rd) || !c.recordReadyEntries(n, rd, prevCommit) || !c.recordCommittedEntries(n, rd) {
		return
	}
	st := n.peer.BasicStatus()
	if st.RaftState == raft.StateLeader && st.Term > n.checkedLeaderTerm {
		n.checkedLeaderTerm = st.Term
		c.oracle.checkLeaderCompleteness(c, n, st.Term)
	}
	for _, rs := range rd.ReadStates {
		c.checkReadState(n, rs)
	}
	for _, dr := range rd.DroppedReads {
		c.checkDroppedRead(n, dr)
	}
}

// checkReadyHardState checks the HardState rd hands out against the last
// one n handed out, and whether rd asks for a sync when it must; it records
// the HardState as handed out. It returns false if the rest of rd is not to
// be checked.
func (c *cluster) checkReadyHardState(n *node, rd *raft.Ready) bool {
	if raft.IsEmptyHardState(rd.HardState) {
		if len(rd.Entries) > 0 && !rd.MustSync {
			c.fail(ReadyContract, n.id, "MustSync is false with %d entries", len(rd.Entries))
		}
		return true
	}
	prev := n.handedHS
	hs := rd.HardState
	needSync := len(rd.Entries) > 0 || hs.Term != prev.Term || hs.Vote != prev.Vote
	if needSync && !rd.MustSync {
		c.fail(ReadyContract, n.id, "MustSync is false with %d entries and HardState %s after %s",
			len(rd.Entries), raft.DescribeHardState(hs), raft.DescribeHardState(prev))
		return false
	}
	switch {
	case hs.Term < prev.Term:
		c.fail(ElectionSafety, n.id, "hands out term %d after term %d", hs.Term, prev.Term)
	case hs.Term == prev.Term && prev.Vote != raft.None && hs.Vote != prev.Vote:
		c.fail(ElectionSafety, n.id, "hands out vote %d after vote %d in term %d", hs.Vote, prev.Vote, hs.Term)
	case hs.Commit < prev.Commit:
		c.fail(CommitIndex, n.id, "hands out commit index %d after %d", hs.Commit, prev.Commit)
	}
	n.handedHS = hs
	return true
}

// recordReadySnapshot checks that a snapshot rd hands out is newer than
// n's, and records it in n's log as handed out. It returns false if the
// check failed.
func (c *cluster) recordReadySnapshot(n *node, rd *raft.Ready) bool {
	if raft.IsEmptySnap(rd.Snapshot) {
		return true
	}
	s := rd.Snapshot.Metadata
	if s.Index <= n.hlog.snapIndex {
		c.fail(ReadyContract, n.id, "hands out snapshot %s, not newer than its snapshot at %d", raft.DescribeSnapshot(rd.Snapshot), n.hlog.snapIndex)
		return false
	}
	n.hlog.restore(s.Index, s.Term)
	n.handedApplied = max(n.handedApplied, s.Index)
	return true
}

// recordReadyEntries appends the entries rd hands out to n's log as handed
// out, checking that they overwrite nothing at or below prevCommit, the
// commit index handed out before rd, and that the commit index now handed
// out is within the log. It returns false if a check failed.
func (c *cluster) recordReadyEntries(n *node, rd *raft.Ready, prevCommit uint64) bool {
	if len(rd.Entries) > 0 {
		if rd.Entries[0].Index <= prevCommit {
			c.fail(ReadyContract, n.id, "hands out entries from index %d, overwriting its commit index %d", rd.Entries[0].Index, prevCommit)
			return false
		}
		if err := n.hlog.append(rd.Entries); err != nil {
			c.fail(ReadyContract, n.id, "hands out entries: %v", err)
			return false
		}
	}
	if n.handedHS.Commit > n.hlog.last() {
		c.fail(ReadyContract, n.id, "hands out commit index %d beyond its last index %d", n.handedHS.Commit, n.hlog.last())
		return false
	}
	return true
}

// recordCommittedEntries checks that the committed entries rd hands out
// follow those handed out before without a gap and stay within the commit
// index, and records the last of them. It returns false if a check failed.
func (c *cluster) recordCommittedEntries(n *node, rd *raft.Ready) bool {
	k := len(rd.CommittedEntries)
	if k == 0 {
		return true
	}
	ce := rd.CommittedEntries
	if ce[0].Index != n.handedApplied+1 {
		c.fail(ReadyContract, n.id, "hands out committed entries from index %d after %d", ce[0].Index, n.handedApplied)
		return false
	}
	for i := range ce {
		if ce[i].Index != ce[0].Index+uint64(i) {
			c.fail(ReadyContract, n.id, "committed entries are not contiguous: %d follows %d", ce[i].Index, ce[i-1].Index)
			return false
		}
	}
	if last := ce[k-1].Index; last > n.handedHS.Commit {
		c.fail(ReadyContract, n.id, "hands out committed entries up to %d beyond its commit index %d", last, n.handedHS.Commit)
		return false
	}
	n.handedApplied = ce[k-1].Index
	return true
}

// checkDroppedRead checks a report that a read n was asked for will never
// be answered: it must name a context issued on n, whose latest issue was
// neither answered nor reported before.
func (c *cluster) checkDroppedRead(n *node, dr raft.DroppedRead) {
	c.stats.DroppedReads++
	rec := n.reads[string(dr.RequestCtx)]
	switch {
	case rec == nil:
		c.fail(ReadContext, n.id, "reports a dropped read with context %q (%x), which no ReadIndex call on node %d passed",
			dr.RequestCtx, dr.RequestCtx, n.id)
	case rec.answered:
		c.fail(ReadContext, n.id, "reports the read %q dropped (%v), after answering it since it was issued at step %d",
			dr.RequestCtx, dr.Reason, rec.issued)
	case rec.dropped:
		c.fail(ReadContext, n.id, "reports the read %q dropped a second time (%v) since it was issued at step %d",
			dr.RequestCtx, dr.Reason, rec.issued)
	default:
		rec.dropped = true
	}
}

// checkMessage checks one message of a Ready handed out by n.
func (c *cluster) checkMessage(n *node, m *pb.Message) {
	switch {
	case m.From != n.id && !isForwarded(m.Type):
		c.fail(ReadyContract, n.id, "hands out a message from %d: %s", m.From, raft.DescribeMessage(*m, entryFormatter))
	case m.To == n.id:
		c.fail(ReadyContract, n.id, "hands out a message to itself: %s", raft.DescribeMessage(*m, entryFormatter))
	case !localMessageFits(m, n.async):
		c.fail(ReadyContract, n.id, "hands out a local message where it does not belong: %s", raft.DescribeMessage(*m, entryFormatter))
	}
}

// leaseReadsChecked reports whether the run uses lease-based reads and
// checks them: only with clocks in step, and across crashes only with the
// restart guard.
func (c *cluster) leaseReadsChecked() bool {
	return c.plan.Config.ReadOnlyOption == raft.ReadOnlyLeaseBased && c.plan.LockStep && c.plan.Config.LeaseGuardOnRestart
}

// checkReadState checks a ReadState n hands out against the ReadIndex
// calls made on n.
func (c *cluster) checkReadState(n *node, rs raft.ReadState) {
	c.stats.ReadStates++
	rec := n.reads[string(rs.RequestCtx)]
	if rec == nil {
		c.fail(ReadContext, n.id, "ReadState index %d carries context %q (%x), which no ReadIndex call on node %d passed",
			rs.Index, rs.RequestCtx, rs.RequestCtx, n.id)
		return
	}
	lease := c.plan.Config.ReadOnlyOption == raft.ReadOnlyLeaseBased
	switch {
	case lease && !c.leaseReadsChecked():
		// Leases promise nothing without clocks in step, nor across
		// crashes without the restart guard.
		c.stats.UncheckedLeaseReads++
	default:
		c.stats.CheckedReads++
		if rs.Index < rec.bound {
			o := StaleRead
			if lease {
				o = LeaseRead
			}
			c.fail(o, n.id, "ReadState for %q has index %d, but node %d had applied index %d before the read was issued at step %d "+
				"(issued %d times, first by incarnation %d, now %d, lastly knowing no leader: %t; the node is %s of %s)",
				rs.RequestCtx, rs.Index, rec.boundNode, rec.bound, rec.issued,
				rec.issues, rec.firstInc, n.inc, rec.leaderless, n.status.RaftState, raft.DescribeConfState(n.conf))
		}
	}
	// NB: checked after staleness, which is the graver fault when a retry
	// is answered twice and the first answer predates the retry.
	if rec.dropped {
		c.fail(ReadContext, n.id, "ReadState index %d answers context %q, reported dropped since it was issued at step %d",
			rs.Index, rs.RequestCtx, rec.issued)
	}
	if rec.answered {
		c.fail(ReadContext, n.id, "ReadState index %d answers context %q a second time since it was issued at step %d",
			rs.Index, rs.RequestCtx, rec.issued)
	}
	rec.answered = true
	n.removePending(string(rs.RequestCtx))
	n.serveQ = append(n.serveQ, readToServe{ctx: string(rs.RequestCtx), index: rs.Index, query: rec.query})
}

// removePending forgets that ctx waits for an answer.
func (n *node) removePending(ctx string) {
	for i, p := range n.pending {
		if p == ctx {
			n.pending = append(n.pending[:i], n.pending[i+1:]...)
			return
		}
	}
}

func describeShadow(term uint64, typ pb.EntryType, data []byte) string {
	return raft.DescribeEntry(pb.Entry{Term: term, Type: typ, Data: data}, entryFormatter)
}

// localMessageFits reports whether m is a peer message to a peer, or, with
// AsyncStorageWrites, work for a local storage thread.
func localMessageFits(m *pb.Message, async bool) bool {
	switch {
	case m.Type == pb.MsgStorageAppend:
		return async && m.To == raft.LocalAppendThread
	case m.Type == pb.MsgStorageApply:
		return async && m.To == raft.LocalApplyThread
	default:
		return !raft.IsLocalMsg(m.Type) && !raft.IsLocalMsgTarget(m.To)
	}
}

// isForwarded reports whether messages of type t may be sent on behalf of
// another node, keeping its ID in From: proposals and reads forwarded to
// the leader, and leadership transfers, whose From names the transferee.
func isForwarded(t pb.MessageType) bool {
	return t == pb.MsgProp || t == pb.MsgReadIndex || t == pb.MsgTransferLeader
}
