/*
Package sim is a deterministic simulation of a raft cluster with oracles:
properties checked after every step that a correct library never breaks.
It drives nodes through the library's public API only (raft.RawNode,
raft.Storage, raftpb), so that the library can be tested as a host uses
it, and so that a host can test the library with its own state machine,
storage or raft implementation plugged in.

# Running it

The package's tests run a sweep as part of go test ./...:

	go test ./rafttest/sim                     # the CI sweep (at least 2,000,000 steps)
	go test -short ./rafttest/sim              # a tenth of it

Every failed run is reported with its seed and the command that replays
it with a trace of every event:

	go test ./rafttest/sim -run 'TestSimulation$' -sim.seed=1234 -sim.trace

The flags of the test select longer sweeps:

	-sim.seeds=FROM:TO   sweep these seeds instead of the CI sweep
	-sim.steps=N         chaos-phase steps per seed (default 8000)
	-sim.livesteps=N     liveness-phase budget per seed (default 30000)
	-sim.parallel=P      runs at a time (default GOMAXPROCS)
	-sim.seed=S          run one seed; -sim.trace writes its trace to stdout,
	                     -sim.tracefile=F to a file, -sim.raftlog adds the
	                     nodes' own log lines
	-sim.tolerate=O,...  let runs go on past violations of these oracles, to
	                     look for other faults while a known one is unfixed
	-sim.v               log every run, not only the failed ones

for example, ten million steps over two cores:

	go test ./rafttest/sim -run 'TestSimulation$' -sim.seeds=1:1200 -sim.parallel=2 -timeout=1h

A sweep prints the number of runs and steps, the violations of each
oracle, the liveness failures of each class, and the steps per second.
BenchmarkRun measures the speed alone.

From Go, Run plays one seed and Sweep a range of seeds in parallel; both
return what the oracles found.

# Steps and time

A run is a sequence of events in virtual time, each of which is one step:
a message delivered to a node (or lost), a node's clock ticking (or, in
lock-step mode, every clock at once), a host taking a Ready, finishing one
(SplitReady), or doing one write of an append thread or one batch of an
apply thread (AsyncStorageWrites), a client operation (a proposal, a read,
a configuration change, a leadership transfer, a ForgetLeader or a
Campaign), and a fault (a crash, a restart, a partition or its end, a log
compaction). A tick is TickUnits units of virtual time; message delays,
processing delays and the gaps between operations are drawn in the same
units. Nothing reads the wall clock, iterates over a map to decide
anything, or draws from a global random source: the seed fixes the run,
bit for bit, traced or not.

A run has two phases. The chaos phase (Options.Steps) has every fault and
every kind of client operation. The liveness phase then heals the network
(no partition, no loss, duplication or long delay), restarts every crashed
node, shuts down the nodes a host would have shut down after their removal,
and stops faults and clients. Within Options.LivenessSteps steps a leader
must be elected, a fresh proposal (the probe) must commit, and every member
of the newest configuration must apply it. A failure is reported apart from
safety violations, with a LivenessClass; a MembershipStall is a cluster
whose only nodes that know the newest configuration is committed are not
voters of it (they were removed or demoted), while its voters still act on
an older one.

# What varies

The Plan is drawn from the seed: the number of initial voters (1 to 5) and
of nodes that may join, every raft.Config option (CheckQuorum, PreVote,
ReadOnlyOption, MaxSizePerMsg, MaxInflightMsgs and MaxInflightBytes,
MaxUncommittedEntriesSize, MaxCommittedSizePerReady,
DisableProposalForwarding, StepDownOnRemoval, AsyncStorageWrites per node,
and DisableConfChangeValidation, with a host that then serialises its
changes), the network (delay, reordering, loss, duplication, long delays,
ReportUnreachable), the faults (crashes, partitions that cut a minority,
the leader alone or links in one direction, compaction) and the work
(proposals to leaders and followers, ReadIndex with new and retried
contexts, membership changes with ConfChange and ConfChangeV2: adding
voters and learners, promotion, demotion, removal of any node including
the leader, joint changes with every transition and explicit leaving,
leadership transfers, ForgetLeader, Campaign). The low four bits of the
seed fix the modes: lock-step clocks, messages marshalled on the wire,
AsyncStorageWrites, and SplitReady, so that any 16 consecutive seeds cover
every combination.

# The host

Each node is run by a host that keeps the Ready contract. Without
AsyncStorageWrites it persists a Ready (snapshot, entries, HardState) as a
whole, then sends its messages, restores the state machine from its
snapshot, applies its committed entries (handing configuration changes to
ApplyConfChange) and calls Advance; in SplitReady mode it does so in a
later step than the one that took the Ready, and other events reach the
node in between. With AsyncStorageWrites the host sends the Ready's peer
messages at once and queues the MsgStorageAppend and MsgStorageApply
messages for an append and an apply thread, each of which does its work in
order, one message per step, and then delivers the message's responses
(to peers, or back to the node through Step). The append thread restores
the state machine from a snapshot once it is durable.

A crash loses everything the node had not persisted at that point: a
Ready taken and not finished, the queued work of both storage threads,
the ReadStates not yet served, and, unless the state machine is durable
that time (Plan.DurableStateMachine), the state machine. The node restarts
from its reopened Storage: with Config.Applied set to what its durable
state machine had applied (but no further than the persisted commit index,
and not past a configuration change after the stored snapshot, which raft
must hand out again since it restores its configuration from the
snapshot alone), or with the state machine rebuilt from the stored snapshot
and the log replayed. The state machine skips entries it already holds.
The host snapshots its state machine only up to the persisted commit index,
compacts the log only up to what raft has applied, and snapshots anew when
raft would send a peer a snapshot older than that peer's membership.

# The oracles

After every step the simulation checks the properties listed with the
Oracle constants: election safety, identical applied entries, leader
completeness, a commit index that never goes back, durability across
crashes, linearizable reads, read contexts, the Ready contract, and no
panic. The read oracle is strict: a ReadState's index must be at least
every index that any node had applied (and so could have acknowledged to a
client, as the result of a write or a read) when the read was issued, where
a context reused on retry counts as issued at the latest ReadIndex call
with it on that node; every ReadState must carry exactly a context issued
on that node, and answer each ReadIndex call at most once.

Lease reads (ReadOnlyLeaseBased) rely on clocks that run at the same rate,
and across crashes on Config.LeaseGuardOnRestart. They are checked (as
LeaseRead) only in lock-step mode, where every live node ticks at the same
instant, with the guard set (three seeds in four that use leases); in the
other runs they still run but are only counted, as unchecked.

# Plugging in

Options.StateMachine and Options.Workload plug in a host's own state
machine (Apply, Snapshot, Restore, Read) and the commands and queries its
clients send; KV and KVWorkload are the defaults. Options.NewStorage plugs
in a StorageFactory (the default rebuilds a raft.MemoryStorage from what
was written to it); the simulation checks that a reopened storage holds
everything written before the crash. Options.Peers plugs in another
implementation of Peer, the part of RawNode's API a host uses; an adapter
over another raft library, or a wrapper that breaks the protocol on
purpose, runs under the same faults and oracles.
*/
package sim
