package sim

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime/debug"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// noLimit stands for "unbounded" in size limits.
const noLimit = math.MaxUint64

// DefaultSteps and DefaultLivenessSteps are the lengths of the two phases
// of a run when Options leaves them at zero. The liveness phase ends as
// soon as its goal is met; its budget is generous because a lagging peer
// catching up over a network that reorders every message (with one entry
// per append, MaxSizePerMsg 0) advances only by the in-order prefix of
// each window of appends, which costs many delivery steps per tick.
const (
	DefaultSteps         = 8000
	DefaultLivenessSteps = 100000
)

// Options configures Run. The zero value, but for the seed, runs the
// library's RawNode on MemoryStorage with the KV state machine.
type Options struct {
	// Seed selects the run: the Plan and every random choice of the run
	// derive from it.
	Seed uint64
	// Steps is the length of the chaos phase, LivenessSteps the budget of
	// the liveness phase (see the package documentation for what a step
	// is). Zero means DefaultSteps and DefaultLivenessSteps.
	Steps, LivenessSteps int
	// Plan, if set, adjusts the Plan drawn from the seed before the run.
	Plan func(p *Plan)

	// Peers starts the peers; nil means NewRawNodePeer. Sweep may call it
	// from several goroutines at once.
	Peers PeerFactory
	// NewStorage returns the StorageFactory of one run; nil means
	// NewMemoryStorageFactory.
	NewStorage func() StorageFactory
	// StateMachine returns a new, empty state machine for node id; nil
	// means NewKV.
	StateMachine func(id uint64) StateMachine
	// Workload makes the clients' commands and queries; nil means
	// KVWorkload.
	Workload Workload

	// Tolerate lists oracles whose violations do not stop the run: they
	// are counted in Stats.Tolerated and traced, and the run goes on. It
	// is a diagnostic aid, to look for other faults while a known one is
	// not fixed; a run with tolerated violations does not pass.
	Tolerate []Oracle

	// Trace, if set, receives a line for every event of the run.
	Trace io.Writer
	// RaftLog adds the nodes' own log lines (raft.Logger, info level and
	// above) to the trace.
	RaftLog bool
}

// phase is the part of a run in progress.
type phase uint8

const (
	phaseChaos phase = iota
	phaseLiveness
)

// cluster is the state of one run: the nodes, the network, the clients, the
// oracles' records and the event queue that drives them all. Nothing in it
// is shared with another run.
type cluster struct {
	opts     Options
	plan     Plan
	rng      *rand.Rand
	peers    PeerFactory
	storage  StorageFactory
	newSM    func(id uint64) StateMachine
	workload Workload
	tr       *tracer

	q     eventQueue
	now   int64
	step  int
	phase phase
	// nodes is indexed by ID; nil for IDs not started yet.
	nodes [MaxNodes + 1]*node
	// nextID is the ID the next node to join gets.
	nextID uint64
	net    network

	oracle oracleState
	client clientState
	live   livenessState

	violation *Violation
	stats     Stats
	// actor is the node the current step delivers a message to, for the
	// report of a panic.
	actor uint64
}

// Run runs one simulation: the chaos phase, then, if no safety property was
// violated, the liveness phase. It never panics on behalf of the code under
// test: a panic in a Peer, Storage or StateMachine is reported as a Panic
// violation.
func Run(opts Options) Result {
	plan := NewPlan(opts.Seed)
	if opts.Plan != nil {
		opts.Plan(&plan)
	}
	c := newCluster(opts, plan)
	c.run()
	c.stats.Ticks = int(c.now / TickUnits)
	return Result{Seed: opts.Seed, Plan: plan, Violation: c.violation, Liveness: c.live.failure, Stats: c.stats}
}

func newCluster(opts Options, plan Plan) *cluster {
	if opts.Steps == 0 {
		opts.Steps = DefaultSteps
	}
	if opts.LivenessSteps == 0 {
		opts.LivenessSteps = DefaultLivenessSteps
	}
	c := &cluster{
		opts:     opts,
		plan:     plan,
		rng:      rand.New(rand.NewPCG(opts.Seed, 0x73696d)),
		peers:    opts.Peers,
		newSM:    opts.StateMachine,
		workload: opts.Workload,
		nextID:   uint64(plan.Voters) + 1,
	}
	if c.peers == nil {
		c.peers = NewRawNodePeer
	}
	if opts.NewStorage != nil {
		c.storage = opts.NewStorage()
	} else {
		c.storage = NewMemoryStorageFactory()
	}
	if c.newSM == nil {
		c.newSM = func(uint64) StateMachine { return NewKV() }
	}
	if c.workload == nil {
		c.workload = KVWorkload{}
	}
	if opts.Trace != nil {
		c.tr = &tracer{w: opts.Trace, c: c}
	}
	c.oracle.init()
	c.client.init()
	return c
}

// run plays both phases.
func (c *cluster) run() {
	if !c.guard(0, c.start) {
		return
	}
	for c.step < c.opts.Steps && c.violation == nil && c.q.len() > 0 {
		c.next()
	}
	if c.violation != nil {
		c.tracef("stop: %s", c.violation)
		return
	}
	c.startLiveness()
	budget := c.step + c.opts.LivenessSteps
	for c.step < budget && c.violation == nil && !c.live.done && c.q.len() > 0 {
		c.next()
		c.checkLiveness()
	}
	c.stats.LivenessSteps = c.step - c.live.startStep
	c.stats.Steps = c.step
	if c.violation != nil {
		c.tracef("stop: %s", c.violation)
		return
	}
	c.finishLiveness()
}

// start creates the initial voters and schedules the first events.
func (c *cluster) start() {
	voters := make([]uint64, c.plan.Voters)
	for i := range voters {
		voters[i] = uint64(i + 1)
	}
	c.tracef("plan: %s", c.plan.describe())
	for _, id := range voters {
		c.bootstrap(id, voters)
	}
	if c.plan.LockStep {
		c.schedule(event{kind: evTickAll}, TickUnits)
	}
	c.scheduleClient()
	c.scheduleFault()
}

// next pops the next event and carries it out as one step.
func (c *cluster) next() {
	e := c.q.pop()
	c.now = e.at
	if c.isStale(&e) {
		return
	}
	c.step++
	c.actor = 0
	c.guard(e.node, func() { c.handle(&e) })
	c.stats.Steps = c.step
}

// isStale reports whether e belongs to a node incarnation that has crashed
// or stopped since it was scheduled.
func (c *cluster) isStale(e *event) bool {
	switch e.kind {
	case evTick, evReady, evReadyDone, evAppend, evApply:
		n := c.nodes[e.node]
		return n == nil || !n.alive() || n.inc != e.inc
	case evRestart:
		return c.nodes[e.node].state != nodeCrashed
	case evClient, evFault:
		return c.phase != phaseChaos
	}
	return false
}

// guard runs f and turns a panic into a Panic violation. It reports
// whether f returned normally.
func (c *cluster) guard(id uint64, f func()) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if id == 0 {
				id = c.actor
			}
			c.fail(Panic, id, "panic: %v\n%s", p, debug.Stack())
			ok = false
		}
	}()
	f()
	return true
}

func (c *cluster) handle(e *event) {
	switch e.kind {
	case evTick:
		c.tick(c.nodes[e.node])
	case evTickAll:
		c.tickAll()
	case evDeliver:
		c.deliver(e.slot)
	case evReady:
		c.handleReady(c.nodes[e.node])
	case evReadyDone:
		c.finishSplitReady(c.nodes[e.node])
	case evAppend:
		c.runAppendThread(c.nodes[e.node])
	case evApply:
		c.runApplyThread(c.nodes[e.node])
	case evClient:
		c.clientOp()
	case evFault:
		c.fault(faultKind(e.slot))
	case evRestart:
		c.restart(c.nodes[e.node])
	case evHeal:
		c.heal()
	default:
		panic(fmt.Sprintf("sim: unknown event kind %d", e.kind))
	}
}

// schedule queues e to happen after delay units.
func (c *cluster) schedule(e event, delay int64) {
	e.at = c.now + max(delay, 0)
	c.q.push(e)
}

// scheduleNode queues an event of n's current incarnation.
func (c *cluster) scheduleNode(n *node, kind eventKind, delay int64) {
	c.schedule(event{kind: kind, node: n.id, inc: n.inc}, delay)
}

// fail records a violation; the run stops after the current step.
func (c *cluster) fail(o Oracle, id uint64, format string, args ...any) {
	if c.violation != nil {
		return
	}
	v := &Violation{Oracle: o, Step: c.step, Node: id, Detail: fmt.Sprintf(format, args...)}
	for _, t := range c.opts.Tolerate {
		if t == o {
			c.stats.Tolerated[o]++
			c.tracef("TOLERATED VIOLATION %s", v)
			return
		}
	}
	c.violation = v
	c.tracef("VIOLATION %s", c.violation)
}

// expDelay draws an exponentially distributed wait with the given mean, in
// units.
func (c *cluster) expDelay(mean float64) int64 {
	return int64(c.rng.ExpFloat64()*mean) + 1
}

// aliveNodes returns the IDs of the live nodes, in ID order.
func (c *cluster) aliveNodes() []uint64 {
	var ids []uint64
	for id := uint64(1); id <= MaxNodes; id++ {
		if n := c.nodes[id]; n != nil && n.alive() {
			ids = append(ids, id)
		}
	}
	return ids
}

// leaders returns the live nodes that believe they lead, highest term
// first.
func (c *cluster) leaders() []*node {
	var ls []*node
	for id := uint64(1); id <= MaxNodes; id++ {
		n := c.nodes[id]
		if n != nil && n.alive() && n.status.RaftState == raft.StateLeader {
			ls = append(ls, n)
		}
	}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].status.Term > ls[j-1].status.Term; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
	return ls
}

// entryFormatter renders entry data in the trace: the proposal ID the
// simulation framed the command with, then the command.
func entryFormatter(data []byte) string {
	if id, cmd, ok := unframe(data); ok {
		return fmt.Sprintf("#%d %q", id, cmd)
	}
	return fmt.Sprintf("%q", data)
}

// confChangeOf decodes the configuration change in e, or returns nil for
// an entry of another type.
func confChangeOf(e *pb.Entry) (pb.ConfChangeI, error) {
	switch e.Type {
	case pb.EntryConfChange:
		var cc pb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			return nil, err
		}
		return cc, nil
	case pb.EntryConfChangeV2:
		var cc pb.ConfChangeV2
		if err := cc.Unmarshal(e.Data); err != nil {
			return nil, err
		}
		return cc, nil
	}
	return nil, nil
}
