package sim

// How the host drives a live node: its clock ticks, its Readies taken and
// finished (at once, in two steps in SplitReady mode, or handed to the
// storage threads), the work that ends each step, and the checks of what the
// node shows from outside after it.

import "github.com/quorate/raft"

// kick schedules a Ready for n if it has one.
func (c *cluster) kick(n *node) {
	if !n.alive() || n.readyScheduled || n.split != nil || c.violation != nil {
		return
	}
	if n.peer.HasReady() {
		n.readyScheduled = true
		c.scheduleNode(n, evReady, 1+int64(c.rng.IntN(4)))
	}
}

// tick ticks one node and schedules its next tick.
func (c *cluster) tick(n *node) {
	n.peer.Tick()
	c.observe(n)
	c.kick(n)
	jitter := n.period / 10
	c.scheduleNode(n, evTick, n.period-jitter+int64(c.rng.IntN(int(2*jitter+1))))
}

// tickAll ticks every live node at once (lock-step mode).
func (c *cluster) tickAll() {
	for id := uint64(1); id <= MaxNodes; id++ {
		if n := c.nodes[id]; n != nil && n.alive() {
			n.peer.Tick()
			c.observe(n)
			c.kick(n)
		}
	}
	c.schedule(event{kind: evTickAll}, TickUnits)
}

// handleReady takes n's Ready and handles it as the node's mode says.
func (c *cluster) handleReady(n *node) {
	n.readyScheduled = false
	if n.split != nil || !n.peer.HasReady() {
		return
	}
	rd := n.peer.Ready()
	c.stats.Readies++
	if c.tr != nil {
		c.tracef("%d: Ready %s", n.id, raft.DescribeReady(rd, entryFormatter))
	}
	c.checkReady(n, &rd)
	if c.violation != nil {
		return
	}
	switch {
	case n.async:
		c.dispatch(n, rd)
	case c.plan.SplitReady:
		n.split = &rd
		c.scheduleNode(n, evReadyDone, 1+int64(c.rng.IntN(20)))
		return
	default:
		c.finishReady(n, rd)
		return
	}
	c.observe(n)
	c.kick(n)
}

// finishSplitReady finishes the Ready taken earlier in SplitReady mode.
func (c *cluster) finishSplitReady(n *node) {
	rd := *n.split
	n.split = nil
	c.finishReady(n, rd)
}

// finishReady does the work of a Ready without AsyncStorageWrites: persist,
// send, apply, Advance.
func (c *cluster) finishReady(n *node, rd raft.Ready) {
	c.persist(n, rd.HardState, rd.Entries, rd.Snapshot)
	if c.violation != nil {
		return
	}
	for _, m := range rd.Messages {
		c.send(m)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		c.restoreSnapshot(n, rd.Snapshot)
	}
	c.applyEntries(n, rd.CommittedEntries)
	if c.violation != nil {
		return
	}
	n.peer.Advance(rd)
	if k := len(rd.CommittedEntries); k > 0 {
		last := rd.CommittedEntries[k-1].Index
		if st := n.peer.BasicStatus(); st.Applied != last {
			c.fail(ReadyContract, n.id, "Applied is %d after Advance, want %d, the last committed entry handed out", st.Applied, last)
		}
	}
	c.afterWork(n)
}

// afterWork ends a piece of host work on n: reads are served, a removed
// node is shut down, and the node is observed.
func (c *cluster) afterWork(n *node) {
	c.serveReads(n)
	if n.stopAfter && isMember(n.conf, n.id) {
		// Re-added by a later change before the host acted.
		n.stopAfter, n.removed = false, false
	}
	// NB: a host acts on its removal only once it has applied everything
	// it knows to be committed: a node replaying its log after a restart
	// meets removals that later changes undid (found by seed 1548, where
	// stopping at such a removal lost the only node that knew of a later
	// commit).
	if n.stopAfter && n.peer.BasicStatus().Applied >= n.peer.BasicStatus().Commit {
		c.stop(n)
		return
	}
	c.observe(n)
	c.kick(n)
}

// observe checks what can be seen of n from outside after it did
// something: its role, term, vote and commit index.
func (c *cluster) observe(n *node) {
	if !n.alive() {
		return
	}
	st := n.peer.BasicStatus()
	prev := n.status
	n.status = st
	if st.RaftState != prev.RaftState || st.Lead != prev.Lead || st.Term != prev.Term {
		c.tracef("%d: %s", n.id, describeStatus(st))
	}
	switch {
	case st.Term < prev.Term:
		c.fail(ElectionSafety, n.id, "term went down from %d to %d", prev.Term, st.Term)
	case st.Term == prev.Term && prev.Vote != raft.None && st.Vote != prev.Vote:
		c.fail(ElectionSafety, n.id, "vote changed from %d to %d in term %d", prev.Vote, st.Vote, st.Term)
	case st.Commit < prev.Commit:
		c.fail(CommitIndex, n.id, "commit index went down from %d to %d", prev.Commit, st.Commit)
	}
	if st.RaftState == raft.StateLeader {
		c.oracle.noteLeader(c, n, st.Term)
		c.oracle.noteCommit(c, n, st.Commit, st.Term)
	}
}
