// Package rafttest drives Raft nodes through scripted scenarios, so that
// the behaviour of the library can be written down, read and checked as
// text. It offers two harnesses, and its subpackage sim a third:
//
//   - InteractionEnv runs RawNodes one explicit step at a time under the
//     control of a github.com/cockroachdb/datadriven test file. Nothing
//     happens unless a command says so: messages wait in a queue until
//     they are delivered, Readies wait until they are processed, and time
//     passes only through tick commands. The scenario files in the
//     repository's testdata directory are written in this language.
//   - Network runs Nodes started with raft.StartNode over simulated links
//     that can drop, delay and partition messages, with seeded randomness
//     and explicit steps (see NewNetwork).
//   - Package github.com/quorate/raft/rafttest/sim runs randomized,
//     seeded simulations of whole clusters of RawNodes under crashes,
//     partitions, message loss and reordering, membership changes and
//     reads, and checks safety, linearizability and liveness oracles
//     after every step. Where a scenario file checks what someone thought
//     to write down, the simulation looks for what nobody thought of; a
//     failing seed replays with a trace of every event, and its story can
//     then be kept as a scenario file here.
//
// # The simulation
//
// The simulation is a package of its own so that hosts can use it without
// this package's datadriven machinery, and so that its types (Options,
// Peer, Storage, StateMachine, Result) need no prefix. go test ./... runs
// its CI sweep; a failure prints the seed and the command that replays it:
//
//	go test ./rafttest/sim -run 'TestSimulation$' -sim.seed=1234 -sim.trace
//
// and -sim.seeds=FROM:TO, -sim.steps and -sim.parallel run longer sweeps.
// A host plugs in its own state machine, storage or raft implementation
// through sim.Options; see the package documentation.
//
// # The command language
//
// Each command is one line: its name, positional arguments (usually node
// IDs) and key=value arguments; some take an input block on the lines that
// follow. Output follows the "----" line. A scenario opens with comment
// lines (starting with #) that say what it shows. For example, the start
// of a three-voter election:
//
//	# Node 1 becomes leader of a group of three voters.
//	add-nodes 3 voters=(1,2,3) index=10
//	----
//	INFO 1 applies configuration voters=(1 2 3)
//	...
//
//	campaign 1
//	----
//	INFO 1 starts an election from term 1
//	INFO 1 is a candidate in term 2
//	INFO 1 sends MsgVote to 2 in term 2, last entry 10@1
//	INFO 1 sends MsgVote to 3 in term 2, last entry 10@1
//
//	stabilize
//	----
//	> 1 handling Ready
//	  Ready MustSync=true:
//	  Lead:0 State:StateCandidate
//	  HardState Term:2 Vote:1 Commit:10
//	  Messages:
//	    1->2 MsgVote Term:2 Log:1/10
//	    1->3 MsgVote Term:2 Log:1/10
//	  INFO 1 gets a MsgVoteResp grant from 1 in term 2
//	  INFO 1 counts 1 grants and 0 rejections of MsgVoteResp
//	> 2 receiving messages
//	  1->2 MsgVote Term:2 Log:1/10
//	  ...
//
//	raft-state
//	----
//	1: StateLeader (Voter) Term:2 Lead:1 Commit:11
//	...
//
// A Ready is printed one item per line: whether it must be synced, the
// SoftState and the HardState if they changed, then the sections
// ReadStates, Entries, Snapshot, CommittedEntries and Messages when they
// are non-empty, written with the raft.Describe* helpers (a message's
// attached Responses are listed below it). Nodes get IDs 1, 2, ... in the
// order add-nodes creates them; the local storage threads appear as
// AppendThread and ApplyThread. The nodes' log lines are interleaved where
// they were written, prefixed with their level. A command with nothing to
// print prints "ok"; an error returned by the library is printed as
// "error: ...".
//
// # Commands
//
// Building the group:
//
//	add-nodes <count> [voters=(ids)] [learners=(ids)] [index=<i>]
//	    [content=(data, ...)] [content-term=<t>] [<option>=<value> ...]
//
// adds count nodes with the next free IDs. With voters or learners, each
// node's storage starts from a snapshot at index (default 1, term 1) with
// that configuration, followed by the uncommitted entries in content (at
// content-term, default 1); without, the storage is empty, as for a server
// about to join. The options set the Config: election-tick (default 3),
// heartbeat-tick (default 1), applied, prevote, checkquorum,
// read-only=safe|lease-based, max-committed-size-per-ready,
// max-uncommitted-size, max-size-per-msg (default unlimited), max-inflight
// (default unlimited), max-inflight-bytes, disable-conf-change-validation,
// disable-proposal-forwarding, step-down-on-removal, async-storage-writes.
//
// Driving the nodes (ids are 1-based; "<id>..." defaults to all nodes):
//
//	campaign <id>                          start an election now
//	propose <id> <data>...                 propose normal entries
//	propose-conf-change <id> [v1=true] [transition=auto|implicit|explicit]
//	<changes, e.g. "v4 l5 r1">             propose a membership change
//	read-index <id> <ctx>                  request a read index
//	transfer-leadership from=<id> to=<id>  hand leadership over
//	forget-leader <id>                     drop the known leader
//	report-unreachable <id> <peer>         report a failed send
//	report-snapshot <id> <peer> [status=finish|failure]
//	                                       report how sending a snapshot ended
//	restart-node <id> [applied=<i>]        crash and restart from storage
//	tick-election <id>...                  tick ElectionTick times
//	tick-heartbeat <id>...                 tick HeartbeatTick times
//	set-randomized-election-timeout <id> timeout=<ticks>
//
// Moving work along:
//
//	process-ready <id>...                  handle each node's Ready
//	deliver-msgs [<id>...] [drop=(ids)] [type=<MessageType>] [from=<id>]
//	    [count=<n>]
//	process-append-thread <id>... [count=<n>]   (async-storage-writes)
//	process-apply-thread <id>... [count=<n>]    (async-storage-writes)
//	stabilize [<id>...]                    all of the above until quiet
//	send-snapshot <from> <to>              send from's stored snapshot
//	compact <id> <index> [snapshot=<i>]    snapshot and truncate the log
//
// Inspecting:
//
//	raft-state                             role, term, leader, commit of each node
//	status <id>                            a leader's progress of each peer
//	raft-log <id>                          the persisted log
//	log-level <debug|info|warn|error|fatal|none>
//	                                       filter the nodes' log lines
//
// Each command is documented in full on its handler, in the file
// cmd_<command>.go.
package rafttest
