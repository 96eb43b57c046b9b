package sim

// A node's life cycle: how the host bootstraps it or starts it to join,
// starts each incarnation, crashes it, stops it once removed, revives it when
// added again, and restarts it from what it persisted, checking what the
// reopened storage holds.

import (
	"math/rand/v2"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// bootstrap creates initial voter id: its storage starts with a snapshot
// at index 1, term 1, holding the initial configuration.
func (c *cluster) bootstrap(id uint64, voters []uint64) {
	n := c.openNode(id)
	if n == nil {
		return
	}
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
	n := c.openNode(id)
	if n == nil {
		return
	}
	c.tracef("start %d (to join)", id)
	c.startIncarnation(n, 0)
}

// openNode returns a new node id with its storage opened and a fresh state
// machine, or nil if the storage fails to open (a Durability failure).
func (c *cluster) openNode(id uint64) *node {
	n := newNode(c, id)
	st, err := c.storage.Open(id)
	if err != nil {
		c.fail(Durability, id, "opening storage: %v", err)
		return nil
	}
	n.storage = st
	n.sm = c.newSM(id)
	return n
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
