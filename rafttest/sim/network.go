package sim

import (
	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// wire is a message in flight: the message itself, or, in Marshal mode,
// its encoding.
type wire struct {
	msg pb.Message
	raw []byte
}

// network holds the messages in flight between nodes and the partitions
// that cut links. Delays, loss and duplication are drawn when a message is
// sent; a partition also loses the messages in flight on the links it cuts.
type network struct {
	// slots holds the messages in flight; free lists the unused slots.
	slots []wire
	free  []int32
	// cut[from][to] severs the direction from -> to.
	cut [MaxNodes + 1][MaxNodes + 1]bool
	// partitioned is set while any link is cut.
	partitioned bool
}

// put stores w and returns its slot.
func (nw *network) put(w wire) int32 {
	if n := len(nw.free); n > 0 {
		s := nw.free[n-1]
		nw.free = nw.free[:n-1]
		nw.slots[s] = w
		return s
	}
	nw.slots = append(nw.slots, w)
	return int32(len(nw.slots) - 1)
}

// take removes and returns the message in slot s.
func (nw *network) take(s int32) wire {
	w := nw.slots[s]
	nw.slots[s] = wire{}
	nw.free = append(nw.free, s)
	return w
}

// send puts a message from a node on the network: it is lost, delayed, or
// duplicated as the plan says.
func (c *cluster) send(m pb.Message) {
	if m.To == raft.None || m.To > MaxNodes || m.From == raft.None || m.From > MaxNodes {
		c.tracef("lost %s: no such node", raft.DescribeMessage(m, entryFormatter))
		c.stats.Dropped++
		return
	}
	if m.Type == pb.MsgSnap && m.Snapshot != nil && !isMember(m.Snapshot.Metadata.ConfState, m.To) {
		// The stored snapshot predates the receiver's addition, and the
		// receiver will not install it. Like a host that builds the
		// snapshot it sends from its current state, snapshot now, so that
		// raft's next attempt carries a usable one.
		if from := c.nodes[m.From]; from != nil && from.alive() {
			c.compact(from)
		}
	}
	chaos := c.phase == phaseChaos
	np := &c.plan.Net
	if c.net.cut[m.From][m.To] {
		c.lost(m, true)
		return
	}
	if chaos && np.DropRate > 0 && c.rng.Float64() < np.DropRate {
		c.lost(m, false)
		return
	}
	copies := 1
	if chaos && np.DupRate > 0 && c.rng.Float64() < np.DupRate {
		copies = 2
		c.stats.Duplicated++
	}
	var raw []byte
	if c.plan.Marshal {
		var err error
		if raw, err = m.Marshal(); err != nil {
			panic("sim: marshalling " + raft.DescribeMessage(m, entryFormatter) + ": " + err.Error())
		}
	}
	for range copies {
		w := wire{raw: raw}
		if raw == nil {
			w.msg = m
		}
		delay := 1 + int64(c.rng.IntN(max(np.MaxDelay, 1)))
		if chaos && np.LongDelayRate > 0 && c.rng.Float64() < np.LongDelayRate {
			delay = 1 + int64(c.rng.IntN(max(np.LongDelayMax, 1)))
		}
		c.schedule(event{kind: evDeliver, slot: c.net.put(w)}, delay)
	}
}

// deliver hands the message in slot s to its destination, if the link and
// the destination are up.
func (c *cluster) deliver(s int32) {
	w := c.net.take(s)
	m := w.msg
	if w.raw != nil {
		if err := m.Unmarshal(w.raw); err != nil {
			panic("sim: unmarshalling a message: " + err.Error())
		}
	}
	c.actor = m.To
	to := c.nodes[m.To]
	if c.net.cut[m.From][m.To] {
		c.lost(m, true)
		return
	}
	if to == nil || !to.alive() {
		c.lost(m, false)
		return
	}
	c.stats.Delivered++
	if c.tr != nil {
		c.tracef("deliver %s", raft.DescribeMessage(m, entryFormatter))
	}
	if err := to.peer.Step(m); err != nil {
		c.tracef("  %d: step: %v", to.id, err)
	}
	c.observe(to)
	c.kick(to)
	if m.Type == pb.MsgSnap {
		c.reportSnapshot(m.From, m.To, raft.SnapshotFinish)
	}
}

// lost drops m, telling the sender what its transport would: a snapshot
// that did not arrive, and sometimes an unreachable peer behind a
// partition.
func (c *cluster) lost(m pb.Message, partitioned bool) {
	c.stats.Dropped++
	if c.tr != nil {
		c.tracef("drop %s", raft.DescribeMessage(m, entryFormatter))
	}
	if m.Type == pb.MsgSnap {
		c.reportSnapshot(m.From, m.To, raft.SnapshotFailure)
		return
	}
	if partitioned && c.plan.Net.UnreachableRate > 0 && c.rng.Float64() < c.plan.Net.UnreachableRate {
		if from := c.nodes[m.From]; from != nil && from.alive() {
			c.tracef("  %d: report %d unreachable", from.id, m.To)
			from.peer.ReportUnreachable(m.To)
			c.observe(from)
			c.kick(from)
		}
	}
}

// reportSnapshot tells the sender of a snapshot how sending it ended.
func (c *cluster) reportSnapshot(from, to uint64, status raft.SnapshotStatus) {
	n := c.nodes[from]
	if n == nil || !n.alive() {
		return
	}
	c.tracef("  %d: report snapshot to %d: %v", from, to, status == raft.SnapshotFinish)
	n.peer.ReportSnapshot(to, status)
	c.observe(n)
	c.kick(n)
}
