package sim

import (
	"fmt"
	"strings"

	"github.com/quorate/raft"
)

// livenessCheckEvery is the number of steps between two checks of the
// liveness phase's goal.
const livenessCheckEvery = 16

// probeRetry is the time after which a probe that has not committed is
// proposed again (to the leader of the moment), in ticks.
const probeRetry = 20

// livenessState follows the liveness phase: after the chaos phase every
// fault stops, and the healed cluster must elect a leader, commit a fresh
// proposal (the probe) and apply it on every member.
type livenessState struct {
	started   bool
	startStep int
	lastCheck int
	// firstProbe is the proposal ID of the first probe; every proposal
	// from it on is a probe. probeIndex is the index at which a probe was
	// first applied, 0 until then; probeAt the time the last probe was
	// proposed.
	firstProbe uint64
	probeIndex uint64
	probeAt    int64
	done       bool
	failure    *LivenessFailure
}

// noteApplied notes that the proposal with the given ID was applied at
// index.
func (l *livenessState) noteApplied(id, index uint64) {
	if l.firstProbe != 0 && id >= l.firstProbe && l.probeIndex == 0 {
		l.probeIndex = index
	}
}

// startLiveness ends the chaos phase: partitions heal, the network stops
// losing, duplicating and holding back messages, crashed nodes restart, and
// clients and faults stop.
func (c *cluster) startLiveness() {
	c.phase = phaseLiveness
	c.live.started = true
	c.live.startStep = c.step
	c.tracef("liveness phase: heal, restart every crashed node, stop faults and clients")
	c.heal()
	for id := uint64(1); id <= MaxNodes; id++ {
		if n := c.nodes[id]; n != nil && n.state == nodeCrashed {
			c.guard(id, func() { c.restart(n) })
		}
	}
	c.stopRemoved()
}

// stopRemoved stops the live nodes that applied their removal from the
// newest configuration. A host stops a removed node once it sees its
// removal; one that did not do it at once (Plan.StopRemoved false) does it
// in the liveness phase, for removals applied before it and during it. NB:
// a removed leader without StepDownOnRemoval leads on, dropping
// proposals, until its host stops it (as in etcd-raft v3.6).
func (c *cluster) stopRemoved() {
	if c.oracle.lastConfIndex == 0 {
		return
	}
	newest := c.oracle.lastConf
	for id := uint64(1); id <= MaxNodes; id++ {
		if n := c.nodes[id]; n != nil && n.alive() && n.removed && !isMember(newest, id) {
			c.stop(n)
		}
	}
}

// checkLiveness proposes the probe when there is a leader to take it, and
// checks whether the goal is reached.
func (c *cluster) checkLiveness() {
	l := &c.live
	if l.done || c.step-l.lastCheck < livenessCheckEvery || c.violation != nil {
		return
	}
	l.lastCheck = c.step
	c.stopRemoved()
	ls := c.leaders()
	if len(ls) == 0 {
		return
	}
	lead := ls[0]
	if l.probeIndex == 0 {
		if l.firstProbe == 0 || c.now-l.probeAt > probeRetry*TickUnits {
			c.client.lastProposal++
			id := c.client.lastProposal
			if l.firstProbe == 0 {
				l.firstProbe = id
			}
			l.probeAt = c.now
			c.guard(lead.id, func() {
				err := lead.peer.Propose(frame(id, []byte("probe")))
				c.tracef("%d: propose probe #%d: %v", lead.id, id, err)
				c.observe(lead)
				c.kick(lead)
			})
		}
		return
	}
	for _, id := range c.members() {
		n := c.nodes[id]
		if n == nil || !n.alive() || n.smApplied < l.probeIndex {
			return
		}
	}
	l.done = true
	c.tracef("liveness reached after %d steps: probe applied at index %d on every member", c.step-l.startStep, l.probeIndex)
}

// members returns the IDs of the newest configuration applied anywhere, in
// ID order.
func (c *cluster) members() []uint64 {
	cs := c.oracle.lastConf
	if c.oracle.lastConfIndex == 0 {
		cs = c.nodes[1].conf
		for id := uint64(1); id <= uint64(c.plan.Voters); id++ {
			if c.nodes[id] != nil && len(c.nodes[id].conf.Voters) > 0 {
				cs = c.nodes[id].conf
				break
			}
		}
	}
	var ids []uint64
	for id := uint64(1); id <= MaxNodes; id++ {
		if isMember(cs, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// finishLiveness classifies a liveness phase that ran out of steps.
func (c *cluster) finishLiveness() {
	l := &c.live
	if l.done {
		return
	}
	class := NoLeader
	switch {
	case l.probeIndex != 0:
		class = NoConvergence
	case len(c.leaders()) > 0:
		class = NoCommit
	}
	if c.membershipStalled() {
		class = MembershipStall
	}
	l.failure = &LivenessFailure{Class: class, Detail: c.describeNodes()}
	c.tracef("%s", l.failure)
}

// membershipStalled reports whether the newest configuration applied
// anywhere is known to be committed only by nodes that are not its voters,
// while none of its live voters knows it.
func (c *cluster) membershipStalled() bool {
	o := &c.oracle
	if o.lastConfIndex == 0 {
		return false
	}
	knownByOutsider := false
	for id := uint64(1); id <= MaxNodes; id++ {
		n := c.nodes[id]
		if n == nil || n.status.Commit < o.lastConfIndex {
			continue
		}
		if isVoter(o.lastConf, id) && n.alive() {
			return false
		}
		if !isVoter(o.lastConf, id) {
			knownByOutsider = true
		}
	}
	return knownByOutsider
}

// describeNodes renders the state of every node for a liveness report.
func (c *cluster) describeNodes() string {
	var b strings.Builder
	fmt.Fprintf(&b, "newest configuration %s at index %d; probe index %d;",
		raft.DescribeConfState(c.oracle.lastConf), c.oracle.lastConfIndex, c.live.probeIndex)
	for id := uint64(1); id <= MaxNodes; id++ {
		n := c.nodes[id]
		if n == nil {
			continue
		}
		state := [...]string{nodeAlive: "alive", nodeCrashed: "crashed", nodeStopped: "stopped"}[n.state]
		fmt.Fprintf(&b, " [%d %s %s conf %s applied %d]", id, state, describeStatus(n.status), raft.DescribeConfState(n.conf), n.smApplied)
	}
	return b.String()
}
