package rafttest

import (
	"fmt"
	"sort"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// Options configures an InteractionEnv. The zero value is usable.
type Options struct {
	// OnConfig, if set, is called with the Config of every node that
	// add-nodes creates, after the command's arguments have been applied and
	// before the RawNode is built. Tests use it for settings the command
	// language does not cover.
	OnConfig func(*raft.Config)

	// SetRandomizedElectionTimeout, if set, forces the randomized election
	// timeout of rn to timeout ticks. The raft package keeps that setter
	// unexported; its tests pass it in through this field so that
	// set-randomized-election-timeout can make elections deterministic
	// without the setter becoming public API. The command fails when the
	// field is nil.
	SetRandomizedElectionTimeout func(rn *raft.RawNode, timeout int)
}

// InteractionEnv is a cluster of RawNodes driven one command at a time by
// a datadriven test (see Handle and the package documentation). Nothing
// happens on its own: messages wait in Messages until deliver-msgs or
// stabilize hands them over, Readies wait until process-ready, and time
// moves only through the tick commands. Runs are therefore deterministic.
type InteractionEnv struct {
	Options Options

	// Nodes holds the nodes in the order add-nodes created them. The node
	// with ID i is Nodes[i-1].
	Nodes []*Node

	// Messages holds the messages sent by any node and not yet delivered or
	// dropped, in the order they were sent. It includes the responses of the
	// local storage threads (MsgStorageAppendResp, MsgStorageApplyResp),
	// which are addressed to their own node.
	Messages []pb.Message

	out *output
}

// Node is one member of an InteractionEnv.
type Node struct {
	*raft.RawNode

	// Storage is the node's stable storage. The environment writes to it
	// only when the node's Ready (or, with AsyncStorageWrites, its append
	// thread) says so, as an application would.
	Storage *raft.MemoryStorage

	// Config is the configuration the RawNode was built from.
	Config *raft.Config

	// AppendWork and ApplyWork queue the MsgStorageAppend and
	// MsgStorageApply messages a node with AsyncStorageWrites has handed
	// out and its append and apply threads have not processed yet, in the
	// order they were handed out.
	AppendWork []pb.Message
	ApplyWork  []pb.Message

	// applied is the index of the last entry applied to the state machine.
	applied uint64
	// incarnation counts the restarts of the node; each restart seeds the
	// new RawNode's randomness differently.
	incarnation uint64

	// confs records the configuration in force after each applied index at
	// which it changed, so that compact can build a snapshot carrying the
	// configuration of the compaction point.
	//
	// Invariant: confs is sorted by index and never empty once the node
	// exists.
	confs []appliedConf
}

type appliedConf struct {
	index uint64
	cs    pb.ConfState
}

// NewInteractionEnv returns an empty environment; add-nodes populates it.
func NewInteractionEnv(opts *Options) *InteractionEnv {
	env := &InteractionEnv{out: newOutput()}
	if opts != nil {
		env.Options = *opts
	}
	return env
}

// node returns the node with the given ID, or an error naming the IDs that
// exist.
func (env *InteractionEnv) node(id uint64) (*Node, error) {
	if id == 0 || id > uint64(len(env.Nodes)) {
		return nil, fmt.Errorf("no node with ID %d (the environment has nodes 1..%d)", id, len(env.Nodes))
	}
	return env.Nodes[id-1], nil
}

// send queues msgs for delivery, preserving their order.
func (env *InteractionEnv) send(msgs ...pb.Message) {
	env.Messages = append(env.Messages, msgs...)
}

// recordConf notes that cs is in force from index on.
func (n *Node) recordConf(index uint64, cs pb.ConfState) {
	i := sort.Search(len(n.confs), func(i int) bool { return n.confs[i].index > index })
	n.confs = append(n.confs[:i], appliedConf{index: index, cs: cs})
}

// confAt returns the configuration in force at index.
func (n *Node) confAt(index uint64) (pb.ConfState, error) {
	i := sort.Search(len(n.confs), func(i int) bool { return n.confs[i].index > index })
	if i == 0 {
		return pb.ConfState{}, fmt.Errorf("no configuration known at index %d", index)
	}
	return n.confs[i-1].cs, nil
}
