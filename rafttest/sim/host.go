package sim

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// nodeState is the life cycle of a simulated node.
type nodeState uint8

const (
	nodeAlive   nodeState = iota
	nodeCrashed           // waiting to restart
	nodeStopped           // removed from the configuration and shut down
)

// node is one simulated server: a host that runs a Peer, persists its
// Readies to a Storage, applies committed entries to a StateMachine and
// serves reads, plus what the oracles remember about it.
type node struct {
	id    uint64
	state nodeState
	// inc counts the node's incarnations; events carry the incarnation
	// that scheduled them.
	inc uint32
	// period is the length of this node's tick in virtual time, when the
	// clocks are not in lock step.
	period int64

	// The current incarnation. peer and storage are nil unless alive.
	peer    Peer
	storage Storage
	async   bool
	// status is the peer's BasicStatus as of the last observation.
	status raft.BasicStatus

	// readyScheduled is set while an evReady is queued. split is the Ready
	// taken and not yet finished in SplitReady mode.
	readyScheduled bool
	split          *raft.Ready
	// appender and applier are the storage threads (with
	// AsyncStorageWrites).
	appender, applier storageThread
	// removed is set when the node has applied a configuration that
	// removes it; stopAfter when the host then shuts it down
	// (Plan.StopRemoved).
	removed, stopAfter bool

	// sm is the application state, which applied entries up to smApplied;
	// conf is the configuration as of smApplied. They survive a crash only
	// when the state machine is durable.
	sm        StateMachine
	smApplied uint64
	conf      pb.ConfState

	// What the oracles remember. hlog is the log as handed out by the
	// current incarnation, plog the log as persisted, persistedHS the
	// HardState as persisted; handedHS is the last HardState handed out
	// and handedApplied the last index handed out for application.
	hlog, plog        logShadow
	persistedHS       pb.HardState
	handedHS          pb.HardState
	handedApplied     uint64
	checkedLeaderTerm uint64
	// durableCommit is the commit index a crash cannot lose: persistedHS's,
	// unless the storage is a LazyCommitStorage, whose writes of the commit
	// index alone are durable only once a later write syncs them.
	durableCommit uint64

	// reads records the contexts issued on this node (over all its
	// incarnations); pending lists those not answered yet, which clients
	// may retry; serveQ holds the ReadStates waiting for the state machine
	// to reach their index.
	reads   map[string]*readRecord
	pending []string
	serveQ  []readToServe
}

func (n *node) alive() bool { return n.state == nodeAlive }

// readRecord is what the read oracles know of a request context.
type readRecord struct {
	query []byte
	// bound is the highest index applied anywhere when the context was
	// last issued, at step issued, by node boundNode.
	bound     uint64
	boundNode uint64
	issued    int
	// answered is set once a ReadState answered the latest issue, and
	// dropped once a DroppedRead reported it (Config.ReportDroppedReads).
	answered, dropped bool
	// issues counts the ReadIndex calls with the context, and firstInc is
	// the node's incarnation at the first of them.
	issues   int
	firstInc uint32
	// leaderless is set if the node knew no leader at the latest issue.
	leaderless bool
}

// readToServe is a read whose ReadState has been handed out.
type readToServe struct {
	ctx   string
	index uint64
	query []byte
}

func newNode(c *cluster, id uint64) *node {
	n := &node{id: id, reads: make(map[string]*readRecord)}
	n.period = TickUnits*8/10 + int64(c.rng.IntN(TickUnits*45/100+1))
	c.nodes[id] = n
	return n
}

// bootstrap creates initial voter id: its storage starts with a snapshot
// at index 1, term 1, holding the initial configuration.
func (c *cluster) bootstrap(id uint64, voters []uint64) {
	n := newNode(c, id)
	st, err := c.storage.Open(id)
	if err != nil {
		c.fail(Durability, id, "opening storage: %v", err)
		return
	}
	n.storage = st
	n.sm = c.newSM(id)
	n.conf = pb.ConfState{Voters: voters}
	snap := pb.Snapshot{
		Data:     n.sm.Snapshot(),
		Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: n.conf},
	}
	c.persist(n, pb.HardState{Term: 1, Commit: 1}, nil, snap)
	n.smApplied = 1
	c.oracle.noteSnapshot(c, n, snap)
	c.startIncarnation(n, 0)
}

// join starts node id with empty storage, to be added by a configuration
// change.
func (c *cluster) join(id uint64) {
	n := newNode(c, id)
	st, err := c.storage.Open(id)
	if err != nil {
		c.fail(Durability, id, "opening storage: %v", err)
		return
	}
	n.storage = st
	n.sm = c.newSM(id)
	c.tracef("start %d (to join)", id)
	c.startIncarnation(n, 0)
}

// startIncarnation starts a Peer on n's storage.
func (c *cluster) startIncarnation(n *node, applied uint64) {
	cfg := c.plan.Config
	cfg.ID = n.id
	cfg.Storage = n.storage
	cfg.Applied = applied
	cfg.Logger = raftLogger{c: c, id: n.id}
	cfg.AsyncStorageWrites = c.plan.AsyncStorageWrites[n.id]
	// NB: every incarnation of every node draws from its own source, fixed
	// by the run's seed: runs are reproducible, and a restarted node does
	// not repeat the read identifiers of its previous incarnation.
	cfg.RandomSource = rand.NewPCG(c.opts.Seed, n.id<<32|uint64(n.inc+1))
	peer, err := c.peers(&cfg)
	if err != nil {
		c.fail(Panic, n.id, "the peer refused to start (Applied %d, persisted %s): %v",
			applied, raft.DescribeHardState(n.persistedHS), err)
		return
	}
	n.inc++
	n.state = nodeAlive
	n.peer = peer
	n.async = cfg.AsyncStorageWrites
	n.readyScheduled, n.split = false, nil
	n.appender, n.applier = storageThread{kind: evAppend, maxDelay: 20}, storageThread{kind: evApply, maxDelay: 10}
	n.stopAfter = false
	n.hlog = n.plog.clone()
	n.handedHS = n.persistedHS
	n.status = peer.BasicStatus()
	n.handedApplied = n.status.Applied
	c.tracef("%d: started (incarnation %d, applied %d): %s", n.id, n.inc, applied, describeStatus(n.status))
	c.checkStarted(n)
	if !c.plan.LockStep {
		c.scheduleNode(n, evTick, 1+int64(c.rng.IntN(int(n.period))))
	}
	c.kick(n)
}

// checkStarted checks a new incarnation against what n had persisted.
func (c *cluster) checkStarted(n *node) {
	st, p := n.status, n.persistedHS
	if st.Term < p.Term || st.Term == p.Term && st.Vote != p.Vote {
		c.fail(Durability, n.id, "restarted at term %d with vote %d, but had persisted term %d and vote %d",
			st.Term, st.Vote, p.Term, p.Vote)
	}
	if st.Commit < p.Commit {
		c.fail(CommitIndex, n.id, "restarted with commit index %d, below the persisted %d", st.Commit, p.Commit)
	}
}

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

// restoreSnapshot replaces n's state machine by the snapshot's, unless the
// state machine is already further.
func (c *cluster) restoreSnapshot(n *node, snap pb.Snapshot) {
	c.oracle.noteSnapshot(c, n, snap)
	c.stats.Snapshots++
	if snap.Metadata.Index <= n.smApplied {
		return
	}
	if err := n.sm.Restore(snap.Data); err != nil {
		c.fail(AppliedEntries, n.id, "restoring the state machine from snapshot %s: %v", raft.DescribeSnapshot(snap), err)
		return
	}
	n.smApplied = snap.Metadata.Index
	n.conf = snap.Metadata.ConfState
	c.oracle.noteApplied(c, n, snap.Metadata.Index)
}

// applyEntries applies committed entries to n's state machine, handing
// configuration changes back to the peer. Entries the state machine already
// holds (after a restart, or behind a snapshot) are checked but not
// applied again.
func (c *cluster) applyEntries(n *node, ents []pb.Entry) {
	for i := range ents {
		e := &ents[i]
		c.oracle.checkApplied(c, n, e)
		if e.Index > n.smApplied+1 {
			c.fail(AppliedEntries, n.id, "applies index %d while its state machine is at %d", e.Index, n.smApplied)
		}
		if c.violation != nil {
			return
		}
		fresh := e.Index > n.smApplied
		cc, err := confChangeOf(e)
		switch {
		case err != nil:
			c.fail(AppliedEntries, n.id, "undecodable configuration change at index %d: %v", e.Index, err)
			return
		case cc != nil:
			cs := n.peer.ApplyConfChange(cc)
			c.tracef("%d: applied conf change %d: %s -> %s", n.id, e.Index, describeConfChange(cc), raft.DescribeConfState(*cs))
			if fresh {
				wasMember := isMember(n.conf, n.id)
				n.conf = *cs
				if c.oracle.noteConf(e.Index, *cs) {
					c.reviveReadded(*cs)
				}
				if wasMember && !isMember(n.conf, n.id) {
					n.removed = true
					n.stopAfter = c.plan.StopRemoved
				}
			}
			c.client.confApplied(c, cc)
		case fresh && len(e.Data) > 0:
			if id, cmd, ok := unframe(e.Data); ok {
				n.sm.Apply(e.Index, cmd)
				c.live.noteApplied(id, e.Index)
			}
		}
		if fresh {
			n.smApplied = e.Index
		}
		c.oracle.noteApplied(c, n, e.Index)
	}
}

// serveReads serves the reads whose index n's state machine has reached.
func (c *cluster) serveReads(n *node) {
	kept := n.serveQ[:0]
	for _, r := range n.serveQ {
		if r.index > n.smApplied {
			kept = append(kept, r)
			continue
		}
		res := n.sm.Read(r.query)
		c.tracef("%d: read %q at index %d (ReadState %d): %q = %q", n.id, r.ctx, n.smApplied, r.index, r.query, res)
	}
	n.serveQ = kept
}

// crash stops n's incarnation: everything it had not persisted is lost,
// including the state machine unless it is durable this time.
func (c *cluster) crash(n *node) {
	c.stats.Crashes++
	durable := c.rng.Float64() < c.plan.DurableStateMachine
	if c.tr != nil {
		fate := "lost"
		if durable {
			fate = "kept"
		}
		c.tracef("crash %d (state machine %s)", n.id, fate)
	}
	c.drop(n)
	n.state = nodeCrashed
	if !durable {
		n.sm, n.smApplied, n.conf = nil, 0, pb.ConfState{}
	}
}

// stop shuts n down for good: it was removed from the configuration.
func (c *cluster) stop(n *node) {
	c.tracef("stop %d: removed from the configuration", n.id)
	c.drop(n)
	n.state = nodeStopped
	if c.oracle.lastConfIndex > 0 {
		c.reviveReadded(c.oracle.lastConf)
	}
}

// reviveReadded restarts the nodes that were shut down after their
// removal and that cs, the newest configuration, has added again, as an
// operator who adds a server starts it.
func (c *cluster) reviveReadded(cs pb.ConfState) {
	for id := uint64(1); id <= MaxNodes; id++ {
		if n := c.nodes[id]; n != nil && n.state == nodeStopped && isMember(cs, id) {
			c.tracef("%d: added again; it will restart", id)
			n.state, n.removed = nodeCrashed, false
			c.schedule(event{kind: evRestart, node: id}, TickUnits)
		}
	}
}

// drop forgets n's incarnation.
func (c *cluster) drop(n *node) {
	n.peer, n.storage = nil, nil
	n.split = nil
	n.appender, n.applier = storageThread{}, storageThread{}
	n.serveQ = nil
	n.readyScheduled = false
}

// restart starts a crashed node again from what it persisted.
func (c *cluster) restart(n *node) {
	if n == nil || n.state != nodeCrashed {
		return
	}
	st, err := c.storage.Open(n.id)
	if err != nil {
		c.fail(Durability, n.id, "reopening storage: %v", err)
		return
	}
	n.storage = st
	c.checkRecovered(n)
	if c.violation != nil {
		return
	}
	hs, _, _ := st.InitialState()
	// NB: a LazyCommitStorage may have lost writes of the commit index
	// alone; raft starts from the commit index it finds.
	n.persistedHS, n.durableCommit = hs, hs.Commit
	snap, err := st.Snapshot()
	if err != nil {
		c.fail(Durability, n.id, "reading the snapshot: %v", err)
		return
	}
	var applied uint64
	if n.sm == nil || n.smApplied < snap.Metadata.Index {
		// The state machine is rebuilt from the snapshot, and the log
		// replayed from there.
		n.sm = c.newSM(n.id)
		n.smApplied, n.conf = 0, pb.ConfState{}
		if !raft.IsEmptySnap(snap) {
			if err := n.sm.Restore(snap.Data); err != nil {
				c.fail(AppliedEntries, n.id, "restoring the state machine from the stored snapshot: %v", err)
				return
			}
			n.smApplied, n.conf = snap.Metadata.Index, snap.Metadata.ConfState
		}
		// NB: with Applied 0, raft starts from the storage's first index,
		// which is below the snapshot's when the log was compacted to
		// below it; Applied must then name the snapshot.
		first, _ := st.FirstIndex()
		if first-1 != snap.Metadata.Index || c.rng.IntN(2) == 0 {
			applied = snap.Metadata.Index
		}
	} else {
		applied = c.restartApplied(n, snap.Metadata.Index, hs.Commit)
	}
	c.startIncarnation(n, applied)
}

// restartApplied returns the Config.Applied of a node whose state machine
// survived the crash: what the state machine had applied, but no further
// than the persisted commit index, and not past a configuration change
// after the snapshot. NB: raft restores its configuration from the
// snapshot's ConfState alone, so a configuration change after the snapshot
// must be handed out (and applied with ApplyConfChange) again; the state
// machine skips the entries it already holds.
func (c *cluster) restartApplied(n *node, snapIndex, commit uint64) uint64 {
	hi := min(n.smApplied, commit)
	if hi <= snapIndex {
		return snapIndex
	}
	ents, err := n.storage.Entries(snapIndex+1, hi+1, noLimit)
	if err != nil {
		return snapIndex
	}
	for _, e := range ents {
		if e.Type == pb.EntryConfChange || e.Type == pb.EntryConfChangeV2 {
			return e.Index - 1
		}
	}
	return hi
}

// checkRecovered compares a reopened storage with what the simulation
// persisted to it.
func (c *cluster) checkRecovered(n *node) {
	st := n.storage
	hs, _, err := st.InitialState()
	if err != nil {
		c.fail(Durability, n.id, "reading the HardState: %v", err)
		return
	}
	p := n.persistedHS
	if hs.Term < p.Term || hs.Term == p.Term && hs.Vote != p.Vote {
		c.fail(Durability, n.id, "storage holds term %d and vote %d after a crash, but term %d and vote %d were persisted",
			hs.Term, hs.Vote, p.Term, p.Vote)
		return
	}
	if hs.Commit < n.durableCommit {
		c.fail(CommitIndex, n.id, "storage holds commit index %d after a crash, below the persisted %d", hs.Commit, n.durableCommit)
		return
	}
	first, err1 := st.FirstIndex()
	last, err2 := st.LastIndex()
	if err1 != nil || err2 != nil {
		c.fail(Durability, n.id, "reading the log bounds: %v %v", err1, err2)
		return
	}
	if last < n.plog.last() {
		c.fail(Durability, n.id, "storage holds entries up to %d after a crash, but entries up to %d were persisted", last, n.plog.last())
		return
	}
	for i := max(first-1, n.plog.offset); i <= n.plog.last(); i++ {
		want, _ := n.plog.term(i)
		if got, err := st.Term(i); err != nil || got != want {
			c.fail(Durability, n.id, "storage holds term %d (%v) at index %d after a crash, but term %d was persisted", got, err, i, want)
			return
		}
	}
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

// isMember reports whether id is in cs, as a voter (incoming or outgoing)
// or a learner.
func isMember(cs pb.ConfState, id uint64) bool {
	for _, ids := range [][]uint64{cs.Voters, cs.VotersOutgoing, cs.Learners, cs.LearnersNext} {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
	}
	return false
}

// isVoter reports whether id is a voter of cs (incoming or outgoing).
func isVoter(cs pb.ConfState, id uint64) bool {
	for _, ids := range [][]uint64{cs.Voters, cs.VotersOutgoing} {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
	}
	return false
}

// frame prefixes cmd with the proposal ID.
func frame(id uint64, cmd []byte) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(cmd)), id), cmd...)
}

// unframe splits framed data into the proposal ID and the command.
func unframe(data []byte) (id uint64, cmd []byte, ok bool) {
	if len(data) < 8 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(data), data[8:], true
}

func describeStatus(st raft.BasicStatus) string {
	return fmt.Sprintf("%s term %d lead %d vote %d commit %d applied %d", st.RaftState, st.Term, st.Lead, st.Vote, st.Commit, st.Applied)
}

func describeConfChange(cc pb.ConfChangeI) string {
	v2 := cc.AsV2()
	if _, ok := cc.AsV1(); ok {
		return "v1 " + pb.ConfChangesToString(v2.Changes)
	}
	if len(v2.Changes) == 0 {
		return "leave-joint"
	}
	return fmt.Sprintf("v2 %s %s", v2.Transition, pb.ConfChangesToString(v2.Changes))
}
