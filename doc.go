/*
Package raft implements the Raft consensus algorithm as a library: the state
machine of one Raft node, which the application drives and whose outputs it
carries out.

The library does the protocol and nothing else. It does not write to disk,
open network connections, keep time or run the application's state machine:
the application persists the state the library asks it to persist, delivers
the messages it asks it to send, applies the entries it reports as committed,
and advances its clock by calling Tick at a regular interval. This makes the
core deterministic, so it can be tested by replaying inputs, and lets the
application choose its own storage, transport and threading.

The package is a drop-in replacement for go.etcd.io/raft/v3 v3.6.0: the same
exported API, the same wire format (package raftpb) and the same documented
behaviour.

# Two front ends

RawNode is the synchronous, single-goroutine interface: the application calls
its methods (Tick, Step, Propose, Ready, Advance, ...) from one goroutine and
nothing happens in between. Node guards a RawNode with a lock and offers its
Readies on a channel, so that the application can propose and step messages
from any goroutine; each request is applied on the caller's goroutine, and
Node's own goroutine only offers Readies, applies ticks and ends the node.
Both implement the same protocol; Node adds no logic of its own.

# Starting a node

Every node is configured with a Config. ID, ElectionTick, HeartbeatTick,
Storage, MaxSizePerMsg and MaxInflightMsgs are the essential fields; an
invalid Config makes NewRawNode return an error (and StartNode and
RestartNode, which cannot return one, panic with it).

	storage := raft.NewMemoryStorage()
	c := &raft.Config{
		ID:              0x01,
		ElectionTick:    10,
		HeartbeatTick:   1,
		Storage:         storage,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
	}

For a brand new cluster, start each initial member with the list of all of
them; their configuration becomes the first entries of the log:

	n := raft.StartNode(c, []raft.Peer{{ID: 0x01}, {ID: 0x02}, {ID: 0x03}})

To restart a node, make its Storage return the persisted state (HardState,
entries and latest snapshot) and call RestartNode; set Config.Applied to the
last index the application had applied, so entries are not applied twice.
RestartNode with an empty Storage also starts a node that joins an existing
cluster: it learns the configuration from the leader once the cluster has
added it with a ConfChange.

	n := raft.RestartNode(c)

With RawNode, call NewRawNode and, for a new cluster, RawNode.Bootstrap.

# The Ready loop

The node tells the application what to do through a Ready, a batch of work.
The application's main loop ticks the node and handles each Ready in this
order:

 1. Persist Ready.HardState (unless empty), Ready.Entries and Ready.Snapshot
    (unless empty) to stable storage. When Ready.MustSync is set the write
    must be durable (fsync) before the next step.
 2. Send Ready.Messages to the peers named in their To fields. If a message
    is a MsgSnap, report the outcome with ReportSnapshot once it is known.
 3. Apply Ready.CommittedEntries to the state machine, in order. For an entry
    of type EntryConfChange or EntryConfChangeV2, decode the raftpb.ConfChange
    or raftpb.ConfChangeV2 and call ApplyConfChange. Serve reads whose
    ReadStates (Ready.ReadStates) have an Index at or below what is applied.
 4. Call Advance.

Steps 1 and 2 may overlap as long as no message leaves before the state it
depends on is persisted: a vote or an append acknowledgement promises that
the state survives a crash. With MemoryStorage, persisting means appending
Entries with Append, saving the HardState with SetHardState and installing the
Snapshot with ApplySnapshot.

	for {
		select {
		case <-ticker.C:
			n.Tick()
		case rd := <-n.Ready():
			saveToStorage(rd.HardState, rd.Entries, rd.Snapshot, rd.MustSync)
			send(rd.Messages)
			for _, e := range rd.CommittedEntries {
				switch e.Type {
				case raftpb.EntryNormal:
					apply(e.Data)
				case raftpb.EntryConfChange:
					var cc raftpb.ConfChange
					cc.Unmarshal(e.Data)
					n.ApplyConfChange(cc)
				case raftpb.EntryConfChangeV2:
					var cc raftpb.ConfChangeV2
					cc.Unmarshal(e.Data)
					n.ApplyConfChange(cc)
				}
			}
			n.Advance()
		case <-done:
			n.Stop()
			return
		}
	}

Messages received from peers go to Step; proposals to Propose and
ProposeConfChange. A proposal is not guaranteed to commit (the leader may
change): the application recognises its own entries among the committed ones
and retries those that do not show up.

MustSync (the function) tells whether a HardState change and a number of
entries require a durable write; only the term, the vote and new entries do,
a commit index alone does not.

# Asynchronous storage writes

With Config.AsyncStorageWrites the application may persist and apply on
goroutines of its own instead of in the Ready loop. A Ready then carries its
writes as local messages rather than expecting Advance:

  - a MsgStorageAppend, addressed to LocalAppendThread, holds the entries,
    HardState and snapshot to persist. Once they are durable, the append
    thread delivers every message in its Responses field (to peers, or back
    to the node through Step), in order;
  - a MsgStorageApply, addressed to LocalApplyThread, holds committed entries
    to apply. Once they are applied, the apply thread steps its Responses
    back into the node.

Messages in Ready.Messages addressed to peers can be sent at once; anything
that had to wait for a write travels in the Responses of the storage message
instead. Writes must complete in the order the messages were issued. Advance
is not called: the next Ready is available as soon as the previous one has
been taken.

# Messages

Messages (raftpb.Message) come in three kinds, which IsLocalMsg and
IsResponseMsg tell apart:

  - peer messages, exchanged between nodes: MsgApp/MsgAppResp (replication),
    MsgVote/MsgVoteResp and MsgPreVote/MsgPreVoteResp (elections),
    MsgHeartbeat/MsgHeartbeatResp, MsgSnap, MsgTimeoutNow (leadership
    transfer), MsgReadIndex/MsgReadIndexResp, and MsgProp when a follower
    forwards a proposal;
  - requests from the application, which the Node and RawNode methods create:
    MsgProp (Propose), MsgHup (Campaign), MsgTransferLeader, MsgForgetLeader,
    MsgReadIndex, MsgUnreachable (ReportUnreachable), MsgSnapStatus
    (ReportSnapshot);
  - local messages that never cross the network: MsgBeat and MsgCheckQuorum
    (the leader's timers), and the MsgStorage* messages of asynchronous
    storage writes.

Step rejects (RawNode) or ignores (Node) local message types that arrive from
anywhere but the node's own storage threads.

# Configuration changes

Membership changes are proposed with ProposeConfChange: a raftpb.ConfChange
adds, removes or updates a single node; a raftpb.ConfChangeV2 can change
several at once through joint consensus (Raft thesis 4.3), leaving the joint
configuration automatically or on an explicit, empty ConfChangeV2. A change
takes effect on a node when the application applies the committed entry with
ApplyConfChange, which returns the new ConfState. A node that is removed
stays running; the application stops it when it sees its removal applied.

# Logging and debugging

The library logs through the Logger in Config, or the package logger set with
SetLogger (DefaultLogger by default, which omits debug output). Messages
name the peer first, in hexadecimal, and say what it does and why, e.g.
"1 is the leader of term 2" or "3 rejects MsgPreVote from 2 for term 5 in
term 4: leader 1 was heard from 3 ticks ago (...)". Their wording is not
part of the API and may change in any release; match on the types and
errors the API returns, never on log text. DescribeReady, DescribeMessage,
DescribeEntry and their siblings render the library's types as readable
one-line text.
*/
package raft
