package sim

// The simulated clients: the operations they send to the nodes (proposals,
// reads and their retries, leadership transfers, forget-leader, campaigns
// and configuration changes) and how they draw a configuration change.

import (
	"slices"
	"strconv"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// maxPendingReads bounds the unanswered contexts a node's clients keep for
// retries; the oldest is given up beyond it.
const maxPendingReads = 16

// clientState is what the simulated clients keep between operations.
type clientState struct {
	// lastProposal, lastRead and lastConfChange number the operations.
	lastProposal, lastRead, lastConfChange uint64
	// confChangePending is the number of the configuration change proposed
	// and not yet applied anywhere, when changes are serialised, and
	// confChangeSince the time it was proposed.
	confChangePending uint64
	confChangeSince   int64
}

func (cs *clientState) init() {}

// scheduleClient queues the next client operation of the chaos phase.
func (c *cluster) scheduleClient() {
	if c.plan.Work.OpEvery > 0 {
		c.schedule(event{kind: evClient}, c.expDelay(c.plan.Work.OpEvery))
	}
}

// clientOp performs one client operation, of a kind drawn by the plan's
// weights.
func (c *cluster) clientOp() {
	defer c.scheduleClient()
	w := &c.plan.Work
	weights := [...]int{w.Propose, w.Read, w.ConfChange, w.Transfer, w.ForgetLeader, w.Campaign}
	total := 0
	for _, x := range weights {
		total += x
	}
	if total == 0 {
		return
	}
	k := c.rng.IntN(total)
	op := 0
	for ; k >= weights[op]; op++ {
		k -= weights[op]
	}
	switch op {
	case 0:
		if n := c.pickNode(true); n != nil {
			c.propose(n)
		}
	case 1:
		if n := c.pickNode(true); n != nil {
			c.read(n)
		}
	case 2:
		if n := c.pickNode(true); n != nil {
			c.proposeConfChange(n)
		}
	case 3:
		c.transfer()
	case 4:
		if n := c.pickNode(false); n != nil {
			c.tracef("%d: forget leader", n.id)
			err := n.peer.ForgetLeader()
			c.traceErr(n, err)
			c.observe(n)
			c.kick(n)
		}
	case 5:
		if n := c.pickNode(false); n != nil {
			if c.leaseReadsChecked() && n.status.Lead != 0 && n.status.RaftState == raft.StateFollower {
				// NB: a follower that may have promised its leader not to
				// help elect another is not told to campaign while lease
				// reads are checked: RawNode.Campaign says such a campaign
				// can break the lease (seed 52251).
				c.tracef("%d: no campaign: it follows %d under a lease", n.id, n.status.Lead)
				return
			}
			c.tracef("%d: campaign", n.id)
			err := n.peer.Campaign()
			c.traceErr(n, err)
			c.observe(n)
			c.kick(n)
		}
	}
}

func (c *cluster) traceErr(n *node, err error) {
	if err != nil {
		c.tracef("  %d: %v", n.id, err)
	}
}

// pickNode returns a live node: with probability Work.ToLeader (if
// toLeader) one that believes it leads, otherwise any; nil if none is
// alive.
func (c *cluster) pickNode(toLeader bool) *node {
	if toLeader && c.rng.Float64() < c.plan.Work.ToLeader {
		if ls := c.leaders(); len(ls) > 0 {
			return ls[0]
		}
	}
	ids := c.aliveNodes()
	if len(ids) == 0 {
		return nil
	}
	return c.nodes[ids[c.rng.IntN(len(ids))]]
}

// propose proposes a new command on n.
func (c *cluster) propose(n *node) {
	c.client.lastProposal++
	id := c.client.lastProposal
	data := frame(id, c.workload.Command(c.rng, id))
	c.stats.Proposals++
	err := n.peer.Propose(data)
	c.tracef("%d: propose #%d %q: %v", n.id, id, data[8:], err)
	c.observe(n)
	c.kick(n)
}

// read issues a ReadIndex on n, with a new context or, sometimes, one of
// n's unanswered contexts again.
func (c *cluster) read(n *node) {
	var ctx string
	if len(n.pending) > 0 && c.rng.Float64() < c.plan.Work.RetryRate {
		ctx = n.pending[c.rng.IntN(len(n.pending))]
		c.stats.Retries++
	} else {
		c.client.lastRead++
		ctx = "n" + strconv.FormatUint(n.id, 10) + "-" + strconv.FormatUint(c.client.lastRead, 10)
		n.reads[ctx] = &readRecord{query: c.workload.Query(c.rng), firstInc: n.inc}
		if len(n.pending) >= maxPendingReads {
			n.pending = n.pending[1:]
		}
		n.pending = append(n.pending, ctx)
	}
	rec := n.reads[ctx]
	rec.bound, rec.boundNode = c.oracle.maxApplied, c.oracle.maxAppliedBy
	rec.issued = c.step
	rec.answered, rec.dropped = false, false
	rec.issues++
	rec.leaderless = n.status.Lead == 0
	c.stats.Reads++
	c.tracef("%d: read index %q (applied anywhere: %d)", n.id, ctx, rec.bound)
	n.peer.ReadIndex([]byte(ctx))
	c.observe(n)
	c.kick(n)
}

// transfer asks a leader (or, sometimes, a follower, which forwards it) to
// hand leadership to another voter, or now and then to a node that cannot
// take it.
func (c *cluster) transfer() {
	var n *node
	if ls := c.leaders(); len(ls) > 0 && c.rng.IntN(5) > 0 {
		n = ls[0]
	} else if n = c.pickNode(false); n == nil {
		return
	}
	var candidates []uint64
	for _, id := range n.conf.Voters {
		if id != n.id {
			candidates = append(candidates, id)
		}
	}
	if len(candidates) == 0 || c.rng.IntN(10) == 0 {
		candidates = append(candidates, n.conf.Learners...)
		candidates = append(candidates, uint64(1+c.rng.IntN(MaxNodes)))
	}
	to := candidates[c.rng.IntN(len(candidates))]
	c.stats.Transfers++
	c.tracef("%d: transfer leadership to %d", n.id, to)
	n.peer.TransferLeader(to)
	c.observe(n)
	c.kick(n)
}

// proposeConfChange proposes a membership change drawn from n's view of the
// configuration.
func (c *cluster) proposeConfChange(n *node) {
	cl := &c.client
	if c.plan.SerializeConfChanges && cl.confChangePending != 0 {
		if c.now-cl.confChangeSince < int64(10*c.plan.Config.ElectionTick*TickUnits) {
			return
		}
		// The proposal was lost (or is stuck); the host gives up on it.
		cl.confChangePending = 0
	}
	cl.lastConfChange++
	ctx := []byte("cc" + strconv.FormatUint(cl.lastConfChange, 10))
	cc := c.drawConfChange(n, ctx)
	if cc == nil {
		return
	}
	c.stats.ConfChanges++
	err := n.peer.ProposeConfChange(cc)
	c.tracef("%d: propose conf change %s %s: %v", n.id, ctx, describeConfChange(cc), err)
	if err == nil && c.plan.SerializeConfChanges {
		cl.confChangePending, cl.confChangeSince = cl.lastConfChange, c.now
	}
	c.observe(n)
	c.kick(n)
}

// confApplied notes that a configuration change was applied somewhere.
func (cs *clientState) confApplied(c *cluster, cc pb.ConfChangeI) {
	var ctx []byte
	if v1, ok := cc.AsV1(); ok {
		ctx = v1.Context
	} else {
		ctx = cc.AsV2().Context
	}
	if cs.confChangePending != 0 && string(ctx) == "cc"+strconv.FormatUint(cs.confChangePending, 10) {
		cs.confChangePending = 0
	}
}

// drawConfChange draws a configuration change from cs: leaving a joint
// configuration, or one to three changes among adding a new node (voter or
// learner), promoting a learner, demoting or removing a voter (the leader
// included) and removing a learner, proposed as a ConfChange or a
// ConfChangeV2 with any transition. It never empties the voters on
// purpose, and returns nil when nothing fits.
func (c *cluster) drawConfChange(n *node, ctx []byte) pb.ConfChangeI {
	cs := n.conf
	if len(cs.VotersOutgoing) > 0 {
		return pb.ConfChangeV2{Context: ctx}
	}
	d := confChangeDraw{
		voters:   slices.Clone(cs.Voters),
		learners: slices.Clone(cs.Learners),
		used:     make(map[uint64]bool),
	}
	var changes []pb.ConfChangeSingle
	want := 1
	if c.rng.IntN(3) == 0 {
		want = 2 + c.rng.IntN(2)
	}
	for try := 0; try < 6 && len(changes) < want; try++ {
		ch, ok := c.drawSingleChange(&d)
		if !ok {
			continue
		}
		d.used[ch.NodeID] = true
		changes = append(changes, ch)
	}
	return c.packConfChange(changes, ctx)
}

// confChangeDraw is what the changes drawn so far for one configuration
// change leave to draw from: voters holds the voters not yet demoted or
// removed, learners the learners at the start, and used the nodes a change
// already names (no node is named twice).
type confChangeDraw struct {
	voters, learners []uint64
	used             map[uint64]bool
}

// drawSingleChange draws one change of a kind at random, or returns false
// if the kind drawn fits nothing left in d. A new node it adds is started,
// to join.
func (c *cluster) drawSingleChange(d *confChangeDraw) (pb.ConfChangeSingle, bool) {
	switch c.rng.IntN(6) {
	case 0, 1: // a new node
		if c.nextID > uint64(c.plan.Nodes) {
			return pb.ConfChangeSingle{}, false
		}
		ch := pb.ConfChangeSingle{Type: pb.ConfChangeAddNode, NodeID: c.nextID}
		if c.rng.IntN(2) == 0 {
			ch.Type = pb.ConfChangeAddLearnerNode
		}
		c.join(c.nextID)
		c.nextID++
		return ch, true
	case 2: // promote a learner
		id, ok := c.pickID(d.learners, d.used)
		return pb.ConfChangeSingle{Type: pb.ConfChangeAddNode, NodeID: id}, ok
	case 3: // demote a voter
		return c.dropVoter(d, pb.ConfChangeAddLearnerNode)
	case 4: // remove a voter
		return c.dropVoter(d, pb.ConfChangeRemoveNode)
	default: // remove a learner
		id, ok := c.pickID(d.learners, d.used)
		return pb.ConfChangeSingle{Type: pb.ConfChangeRemoveNode, NodeID: id}, ok
	}
}

// dropVoter draws a change of type typ that takes a voter out of d's
// voters, or returns false if none is free or it would leave no voter.
func (c *cluster) dropVoter(d *confChangeDraw, typ pb.ConfChangeType) (pb.ConfChangeSingle, bool) {
	id, ok := c.pickID(d.voters, d.used)
	if !ok || len(d.voters) < 2 {
		return pb.ConfChangeSingle{}, false
	}
	d.voters = slices.DeleteFunc(d.voters, func(x uint64) bool { return x == id })
	return pb.ConfChangeSingle{Type: typ, NodeID: id}, true
}

// packConfChange wraps changes with ctx: a single change half the time as
// a ConfChange, otherwise as a ConfChangeV2 with a random transition. It
// returns nil if there are no changes.
func (c *cluster) packConfChange(changes []pb.ConfChangeSingle, ctx []byte) pb.ConfChangeI {
	switch {
	case len(changes) == 0:
		return nil
	case len(changes) == 1 && c.rng.IntN(2) == 0:
		return pb.ConfChange{Type: changes[0].Type, NodeID: changes[0].NodeID, Context: ctx}
	}
	tr := pb.ConfChangeTransition(c.rng.IntN(3))
	return pb.ConfChangeV2{Transition: tr, Changes: changes, Context: ctx}
}

// pickID draws an ID of ids not in used.
func (c *cluster) pickID(ids []uint64, used map[uint64]bool) (uint64, bool) {
	var free []uint64
	for _, id := range ids {
		if !used[id] {
			free = append(free, id)
		}
	}
	if len(free) == 0 {
		return 0, false
	}
	return free[c.rng.IntN(len(free))], true
}
