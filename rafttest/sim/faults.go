package sim

import (
	"github.com/quorate/raft"
)

// faultKind is the kind of an evFault, carried in event.slot.
type faultKind int32

const (
	faultCrash faultKind = iota
	faultPartition
	faultCompact
)

// scheduleFault queues the next fault of every kind the plan enables.
func (c *cluster) scheduleFault() {
	for _, k := range []faultKind{faultCrash, faultPartition, faultCompact} {
		c.scheduleFaultKind(k)
	}
}

func (c *cluster) scheduleFaultKind(k faultKind) {
	f := &c.plan.Faults
	mean := [...]float64{faultCrash: f.CrashEvery, faultPartition: f.PartitionEvery, faultCompact: f.CompactEvery}[k]
	if mean > 0 {
		c.schedule(event{kind: evFault, slot: int32(k)}, c.expDelay(mean*TickUnits))
	}
}

// fault strikes, and the next fault of its kind is scheduled.
func (c *cluster) fault(k faultKind) {
	defer c.scheduleFaultKind(k)
	switch k {
	case faultCrash:
		c.crashOne()
	case faultPartition:
		c.partition()
	case faultCompact:
		if n := c.pickNode(false); n != nil {
			c.compact(n)
		}
	}
}

// crashOne crashes a live node (the leader more often than the others) and
// schedules its restart.
func (c *cluster) crashOne() {
	var n *node
	if ls := c.leaders(); len(ls) > 0 && c.rng.IntN(3) == 0 {
		n = ls[0]
	} else if n = c.pickNode(false); n == nil {
		return
	}
	c.crash(n)
	down := int64(1+c.rng.IntN(max(c.plan.Faults.MaxDown, 1))) * TickUnits
	c.schedule(event{kind: evRestart, node: n.id}, down)
}

// partition cuts links: the leader or another node off from the rest, the
// nodes into two random groups, or a few links in one direction only. It
// schedules the heal.
func (c *cluster) partition() {
	if c.net.partitioned {
		return
	}
	ids := c.aliveNodes()
	if len(ids) < 2 {
		return
	}
	var desc string
	switch c.rng.IntN(4) {
	case 0, 1:
		var victim uint64
		if ls := c.leaders(); len(ls) > 0 && c.rng.IntN(2) == 0 {
			victim = ls[0].id
		} else {
			victim = ids[c.rng.IntN(len(ids))]
		}
		c.isolate([]uint64{victim})
		desc = "isolate " + describeIDs([]uint64{victim})
	case 2:
		var group []uint64
		for _, id := range ids {
			if c.rng.IntN(2) == 0 {
				group = append(group, id)
			}
		}
		c.isolate(group)
		desc = "split off " + describeIDs(group)
	case 3:
		desc = "cut one way:"
		for range 1 + c.rng.IntN(3) {
			a, b := ids[c.rng.IntN(len(ids))], ids[c.rng.IntN(len(ids))]
			if a != b {
				c.net.cut[a][b] = true
				desc += " " + describeIDs([]uint64{a}) + "->" + describeIDs([]uint64{b})
			}
		}
	}
	c.net.partitioned = true
	c.stats.Partitions++
	c.tracef("partition: %s", desc)
	c.schedule(event{kind: evHeal}, int64(1+c.rng.IntN(max(c.plan.Faults.MaxPartition, 1)))*TickUnits)
}

// isolate cuts the nodes of group off from all others, both ways.
func (c *cluster) isolate(group []uint64) {
	in := [MaxNodes + 1]bool{}
	for _, id := range group {
		in[id] = true
	}
	for a := 1; a <= MaxNodes; a++ {
		for b := 1; b <= MaxNodes; b++ {
			if a != b && in[a] != in[b] {
				c.net.cut[a][b] = true
			}
		}
	}
}

// heal removes every partition.
func (c *cluster) heal() {
	if !c.net.partitioned {
		return
	}
	c.net.cut = [MaxNodes + 1][MaxNodes + 1]bool{}
	c.net.partitioned = false
	c.tracef("heal")
}

// compact snapshots n's state machine at its applied index and compacts
// its log, keeping a few entries below the snapshot now and then. NB: a
// host may only snapshot what it has persisted as committed (with
// AsyncStorageWrites the state machine can run ahead of the persisted
// commit index, and a restart needs Applied <= commit >= snapshot), and may
// only compact what raft has applied (after a restart raft may hand out
// again entries the state machine holds, to re-apply configuration
// changes).
func (c *cluster) compact(n *node) {
	i := n.smApplied
	snap, err := n.storage.Snapshot()
	if err != nil || i <= snap.Metadata.Index || i > n.persistedHS.Commit {
		return
	}
	if last, err := n.storage.LastIndex(); err != nil || i > last {
		return
	}
	cs := n.conf
	if _, err := n.storage.CreateSnapshot(i, &cs, n.sm.Snapshot()); err != nil {
		c.tracef("%d: creating snapshot at %d: %v", n.id, i, err)
		return
	}
	n.plog.snapIndex = i
	n.durableCommit = n.persistedHS.Commit
	to := min(i-min(uint64(c.rng.IntN(8)), i-1), n.peer.BasicStatus().Applied)
	if to > n.plog.offset {
		if err := n.storage.Compact(to); err != nil {
			c.tracef("%d: compacting to %d: %v", n.id, to, err)
		} else {
			n.plog.compact(to)
		}
	}
	c.stats.Compactions++
	c.tracef("%d: snapshot at %d (%s), log compacted to %d", n.id, i, raft.DescribeConfState(cs), to)
}

func describeIDs(ids []uint64) string {
	s := "("
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += string(rune('0' + id))
	}
	return s + ")"
}
