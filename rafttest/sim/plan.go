package sim

// What a run draws from its seed before it starts: the Plan (the cluster's
// shape, its raft.Config, the host's modes, the network, the faults and the
// clients' work) and NewPlan, which draws it.

import (
	"math"
	"math/rand/v2"

	"github.com/quorate/raft"
)

// MaxNodes bounds the node IDs of a simulated cluster: IDs run from 1 to
// MaxNodes, the initial voters first and the nodes that join later after.
const MaxNodes = 8

// TickUnits is the length of one tick in the simulation's virtual time. The
// unit has no meaning of its own: message delays, processing delays and
// the intervals between client operations are expressed in it.
const TickUnits = 100

// Plan is everything a run draws from its seed before it starts: the shape
// of the cluster, the raft.Config of its nodes, the modes the host runs in,
// and the rates of faults and client work. NewPlan draws one; Options.Plan
// may adjust it before the run starts. Two runs with the same seed and the
// same Plan are identical.
type Plan struct {
	// Voters is the number of initial voters (IDs 1..Voters).
	// Invariant: 1 <= Voters <= Nodes <= MaxNodes.
	Voters int
	// Nodes bounds the IDs in use: nodes Voters+1..Nodes may be added by
	// configuration changes during the run.
	Nodes int

	// Config is the raft.Config every node starts with. ID, Storage,
	// Applied, Logger, AsyncStorageWrites (see below) and RandomSource (a
	// source seeded from the run's seed, the node's ID and its incarnation)
	// are filled in by the simulation for each incarnation of each node;
	// every other field is used as it is (and must be valid: the run fails
	// if NewRawNode refuses it).
	Config raft.Config
	// AsyncStorageWrites, indexed by node ID, overrides
	// Config.AsyncStorageWrites per node: a cluster may mix hosts that
	// persist in their Ready loop with hosts that use storage threads.
	AsyncStorageWrites [MaxNodes + 1]bool

	// LockStep makes every live node tick at the same instant, once per
	// TickUnits; otherwise each node's clock runs at its own rate (between
	// 0.8 and 1.25 times the nominal rate) with jitter. Lease reads
	// (ReadOnlyLeaseBased) are checked by the read oracle only in this mode.
	LockStep bool
	// Marshal makes every message between nodes cross the network as bytes
	// (raftpb.Message.Marshal and Unmarshal).
	Marshal bool
	// SplitReady makes a host without AsyncStorageWrites take a Ready and
	// finish it (persist, send, apply, Advance) in two separate steps, so
	// that messages, ticks and client requests reach the node in between,
	// and a crash can lose a Ready that was taken but not persisted.
	SplitReady bool
	// StopRemoved makes a host shut its node down for good once it has
	// applied a configuration that no longer contains it.
	StopRemoved bool
	// DurableStateMachine is the probability that a crashed node's state
	// machine survives the crash, so that it restarts with Config.Applied
	// set to what the state machine had applied; otherwise the state
	// machine is rebuilt from the stored snapshot and the log replayed.
	DurableStateMachine float64
	// SerializeConfChanges makes the host propose a configuration change
	// only when no earlier one is pending (as a host must when it sets
	// Config.DisableConfChangeValidation).
	SerializeConfChanges bool

	// Net describes the network of the chaos phase.
	Net NetPlan
	// Faults describes the faults of the chaos phase.
	Faults FaultPlan
	// Work describes what the clients do during the chaos phase.
	Work WorkPlan
}

// NetPlan is how the network behaves during the chaos phase. During the
// liveness phase nothing is dropped, duplicated or delayed beyond MaxDelay.
type NetPlan struct {
	// MaxDelay bounds the time (in virtual time units) a message spends
	// in flight; each message draws its delay uniformly from [1, MaxDelay],
	// so messages between two nodes are reordered.
	MaxDelay int
	// LongDelayRate is the probability that a message is held back much
	// longer, up to LongDelayMax units.
	LongDelayRate float64
	LongDelayMax  int
	// DropRate and DupRate are the probabilities that a message is lost,
	// or delivered twice.
	DropRate, DupRate float64
	// UnreachableRate is the probability that the sender of a message lost
	// to a partition learns of it through ReportUnreachable.
	UnreachableRate float64
}

// FaultPlan is how often faults happen during the chaos phase. Intervals
// are means, in ticks, of exponentially distributed waits; 0 disables the
// fault.
type FaultPlan struct {
	// CrashEvery is the mean time between crashes; a crashed node restarts
	// after 1..MaxDown ticks.
	CrashEvery float64
	MaxDown    int
	// PartitionEvery is the mean time between partitions; each lasts
	// 1..MaxPartition ticks.
	PartitionEvery float64
	MaxPartition   int
	// CompactEvery is the mean time between log compactions on a random
	// node.
	CompactEvery float64
}

// WorkPlan is what the clients do during the chaos phase.
type WorkPlan struct {
	// OpEvery is the mean time between client operations, in virtual time
	// units.
	OpEvery float64
	// The weights of the kinds of operation.
	Propose, Read, ConfChange, Transfer, ForgetLeader, Campaign int
	// RetryRate is the probability that a read retries one of the node's
	// unanswered contexts instead of issuing a new one.
	RetryRate float64
	// ToLeader is the probability that a proposal or read goes to a node
	// that believes it is the leader rather than to a random node.
	ToLeader float64
}

// NewPlan draws the plan of the run with the given seed. The low bits of
// the seed fix the modes (LockStep, Marshal, AsyncStorageWrites,
// SplitReady), so that any 16 consecutive seeds cover every combination;
// everything else is drawn at random.
func NewPlan(seed uint64) Plan {
	r := rand.New(rand.NewPCG(seed, 0x706c616e))
	p := Plan{}
	p.LockStep = seed&1 != 0
	p.Marshal = seed&2 != 0
	async := seed&4 != 0
	p.SplitReady = seed&8 != 0

	p.Voters = pick(r, []int{1, 2, 3, 3, 3, 4, 5, 5})
	p.Nodes = min(MaxNodes, p.Voters+1+r.IntN(3))
	p.StopRemoved = r.IntN(2) == 0
	p.DurableStateMachine = pick(r, []float64{0, 0.5, 1})

	// NB: the draws below come from r in a fixed order; reordering them
	// would change the plan of every seed.
	p.drawConfig(r, seed)
	p.drawAsyncStorageWrites(r, async)
	p.Net = drawNetPlan(r, p.Config.ElectionTick)
	p.Faults = drawFaultPlan(r, p.Config.ElectionTick)
	p.Work = drawWorkPlan(r)
	return p
}

// drawConfig draws the raft.Config of p's nodes, and whether the host must
// serialize its configuration changes because validation is off.
func (p *Plan) drawConfig(r *rand.Rand, seed uint64) {
	c := &p.Config
	c.HeartbeatTick = 1 + r.IntN(2)
	c.ElectionTick = c.HeartbeatTick*3 + r.IntN(8)
	c.CheckQuorum = r.IntN(2) == 0
	c.PreVote = r.IntN(2) == 0
	if c.CheckQuorum && r.IntN(3) == 0 {
		c.ReadOnlyOption = raft.ReadOnlyLeaseBased
		// NB: from the seed's bits, not r, so that adding the option did
		// not change the plans of earlier seeds.
		c.LeaseGuardOnRestart = seed>>4&3 != 0
	}
	c.MaxSizePerMsg = pick(r, []uint64{0, 64, 1024, math.MaxUint64})
	c.MaxInflightMsgs = pick(r, []int{1, 2, 4, 256})
	if c.MaxSizePerMsg != math.MaxUint64 && r.IntN(2) == 0 {
		c.MaxInflightBytes = max(c.MaxSizePerMsg, 64) * uint64(1+r.IntN(4))
	}
	c.MaxUncommittedEntriesSize = pick(r, []uint64{0, 0, 128, 2048})
	c.MaxCommittedSizePerReady = pick(r, []uint64{0, 0, 64, 4096})
	c.DisableProposalForwarding = r.IntN(5) == 0
	// NB: from the seed's bits, not r, so that adding the options did not
	// change the plans of earlier seeds.
	c.ReportDroppedReads = seed>>6&1 != 0
	c.ReportRefusedConfChanges = seed>>7&1 != 0
	c.StepDownOnRemoval = r.IntN(2) == 0
	if r.IntN(5) == 0 {
		c.DisableConfChangeValidation = true
		p.SerializeConfChanges = true
	}
}

// drawAsyncStorageWrites sets which nodes use storage threads: none unless
// async, and then all of them or, in a mixed cluster, a random part.
func (p *Plan) drawAsyncStorageWrites(r *rand.Rand, async bool) {
	mixed := async && r.IntN(3) == 0
	for id := 1; id <= MaxNodes; id++ {
		p.AsyncStorageWrites[id] = async && (!mixed || r.IntN(2) == 0)
	}
}

// drawNetPlan draws the chaos phase's network, its long delays scaled to
// the election timeout of electionTick ticks.
func drawNetPlan(r *rand.Rand, electionTick int) NetPlan {
	return NetPlan{
		MaxDelay:        pick(r, []int{2, 10, 30, 60}),
		LongDelayRate:   pick(r, []float64{0, 0.002, 0.01, 0.03}),
		LongDelayMax:    TickUnits * electionTick * (1 + r.IntN(3)),
		DropRate:        pick(r, []float64{0, 0.01, 0.03, 0.1}),
		DupRate:         pick(r, []float64{0, 0.005, 0.02}),
		UnreachableRate: pick(r, []float64{0, 0.5, 1}),
	}
}

// drawFaultPlan draws the chaos phase's faults, their intervals and
// lengths scaled to the election timeout of electionTick ticks.
func drawFaultPlan(r *rand.Rand, electionTick int) FaultPlan {
	et := float64(electionTick)
	return FaultPlan{
		CrashEvery:     pick(r, []float64{0, 2, 5, 10}) * et,
		MaxDown:        electionTick * (1 + r.IntN(3)),
		PartitionEvery: pick(r, []float64{0, 2, 4, 8}) * et,
		MaxPartition:   electionTick * (1 + r.IntN(4)),
		CompactEvery:   pick(r, []float64{0, 1, 5}) * et,
	}
}

// drawWorkPlan draws what the clients do during the chaos phase.
func drawWorkPlan(r *rand.Rand) WorkPlan {
	return WorkPlan{
		OpEvery:      pick(r, []float64{15, 40, 100}),
		Propose:      10,
		Read:         pick(r, []int{2, 10, 20}),
		ConfChange:   pick(r, []int{0, 1, 2}),
		Transfer:     pick(r, []int{0, 1, 2}),
		ForgetLeader: pick(r, []int{0, 1}),
		Campaign:     pick(r, []int{0, 1}),
		RetryRate:    pick(r, []float64{0, 0.2, 0.5}),
		ToLeader:     pick(r, []float64{0.3, 0.7, 1}),
	}
}

// pick returns one of choices, drawn uniformly.
func pick[T any](r *rand.Rand, choices []T) T {
	return choices[r.IntN(len(choices))]
}
