package sim

// The host's storage side: the append and apply threads that a node with
// AsyncStorageWrites hands its work to, and persisting a snapshot, entries and
// HardState in the order the Ready contract requires.

import (
	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// dispatch hands the messages of a Ready with AsyncStorageWrites to the
// storage threads and the network.
func (c *cluster) dispatch(n *node, rd raft.Ready) {
	for _, m := range rd.Messages {
		switch m.To {
		case raft.LocalAppendThread:
			n.appender.queue = append(n.appender.queue, m)
			c.wake(n, &n.appender)
		case raft.LocalApplyThread:
			n.applier.queue = append(n.applier.queue, m)
			c.wake(n, &n.applier)
		default:
			c.send(m)
		}
	}
}

// runAppendThread does the next write of n's append thread: persist what
// the MsgStorageAppend carries, then deliver its responses.
func (c *cluster) runAppendThread(n *node) {
	m, ok := n.appender.take()
	if !ok {
		return
	}
	if c.tr != nil {
		c.tracef("%d: append thread: %s", n.id, raft.DescribeMessage(m, entryFormatter))
	}
	var snap pb.Snapshot
	if m.Snapshot != nil {
		snap = *m.Snapshot
	}
	c.persist(n, pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}, m.Entries, snap)
	if c.violation != nil {
		return
	}
	if !raft.IsEmptySnap(snap) {
		// NB: the application restores its state machine once the
		// snapshot is durable; apply work queued before it may still
		// carry older entries, which applyEntries then skips.
		c.restoreSnapshot(n, snap)
	}
	c.respond(n, m.Responses)
	c.wake(n, &n.appender)
	c.afterWork(n)
}

// runApplyThread does the next batch of n's apply thread.
func (c *cluster) runApplyThread(n *node) {
	m, ok := n.applier.take()
	if !ok {
		return
	}
	if c.tr != nil {
		c.tracef("%d: apply thread: %s", n.id, raft.DescribeMessage(m, entryFormatter))
	}
	c.applyEntries(n, m.Entries)
	if c.violation != nil {
		return
	}
	c.respond(n, m.Responses)
	if k := len(m.Entries); k > 0 && n.alive() {
		last := m.Entries[k-1].Index
		if st := n.peer.BasicStatus(); st.Applied < last {
			c.fail(ReadyContract, n.id, "Applied is %d after the apply thread's response, want at least %d", st.Applied, last)
		}
	}
	c.wake(n, &n.applier)
	c.afterWork(n)
}

// storageThread is one of a node's storage threads: the work handed to it,
// in order, done one message per step.
type storageThread struct {
	queue []pb.Message
	// busy is set while the thread's next event is queued.
	busy bool
	// kind is the thread's event, maxDelay the most time it takes to do
	// one message.
	kind     eventKind
	maxDelay int
}

// take removes and returns the thread's next work, if any.
func (t *storageThread) take() (pb.Message, bool) {
	t.busy = false
	if len(t.queue) == 0 {
		return pb.Message{}, false
	}
	m := t.queue[0]
	t.queue = t.queue[1:]
	return m, true
}

// wake schedules the thread's next step if it has work and none is
// scheduled.
func (c *cluster) wake(n *node, t *storageThread) {
	if len(t.queue) > 0 && !t.busy {
		t.busy = true
		c.scheduleNode(n, t.kind, 1+int64(c.rng.IntN(t.maxDelay)))
	}
}

// respond delivers the responses of a storage thread's work: to the node
// itself through Step, to peers through the network.
func (c *cluster) respond(n *node, resps []pb.Message) {
	for _, r := range resps {
		if r.To != n.id {
			c.send(r)
			continue
		}
		if err := n.peer.Step(r); err != nil {
			c.tracef("  %d: step %s: %v", n.id, r.Type, err)
		}
	}
}

// persist writes what a Ready (or MsgStorageAppend) hands out to n's
// storage, in the order the contract requires: snapshot, entries,
// HardState.
func (c *cluster) persist(n *node, hs pb.HardState, ents []pb.Entry, snap pb.Snapshot) {
	prev := n.persistedHS
	if !raft.IsEmptySnap(snap) {
		if err := n.storage.ApplySnapshot(snap); err != nil {
			c.fail(ReadyContract, n.id, "persisting snapshot %s: %v", raft.DescribeSnapshot(snap), err)
			return
		}
		n.plog.restore(snap.Metadata.Index, snap.Metadata.Term)
	}
	if len(ents) > 0 {
		// NB: checked on the shadow first: MemoryStorage panics on a gap.
		probe := n.plog.clone()
		if err := probe.append(ents); err != nil {
			c.fail(ReadyContract, n.id, "persisting entries: %v", err)
			return
		}
		if err := n.storage.Append(ents); err != nil {
			c.fail(ReadyContract, n.id, "persisting entries: %v", err)
			return
		}
		n.plog = probe
	}
	if !raft.IsEmptyHardState(hs) {
		if hs.Commit < n.persistedHS.Commit {
			c.fail(CommitIndex, n.id, "asked to persist commit index %d, below the persisted %d", hs.Commit, n.persistedHS.Commit)
			return
		}
		if err := n.storage.SetHardState(hs); err != nil {
			c.fail(ReadyContract, n.id, "persisting HardState %s: %v", raft.DescribeHardState(hs), err)
			return
		}
		n.persistedHS = hs
	}
	if !lazyCommit(n.storage) || !raft.IsEmptySnap(snap) || raft.MustSync(n.persistedHS, prev, len(ents)) {
		n.durableCommit = n.persistedHS.Commit
	}
}
