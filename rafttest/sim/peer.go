package sim

import (
	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// Peer is one incarnation of a simulated node's raft instance: the part of
// raft.RawNode's API a host uses. The simulation drives it from a single
// goroutine, exactly as the RawNode contract requires, and never calls it
// again once the node has crashed; a restart creates a new Peer through
// the PeerFactory.
//
// *raft.RawNode implements Peer, and is what the simulation runs by
// default. Another implementation (an adapter over a different raft
// library, or a wrapper that breaks the protocol on purpose to show that
// an oracle notices) must keep the RawNode contract: messages, Readies,
// ReadStates and statuses in the types and with the meaning of package
// raft.
type Peer interface {
	Tick()
	Campaign() error
	Propose(data []byte) error
	ProposeConfChange(cc pb.ConfChangeI) error
	ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState
	Step(m pb.Message) error
	HasReady() bool
	Ready() raft.Ready
	Advance(rd raft.Ready)
	ReadIndex(rctx []byte)
	TransferLeader(transferee uint64)
	ForgetLeader() error
	ReportUnreachable(id uint64)
	ReportSnapshot(id uint64, status raft.SnapshotStatus)
	BasicStatus() raft.BasicStatus
}

var _ Peer = (*raft.RawNode)(nil)

// PeerFactory starts an incarnation of a node: at the start of the run, when
// a node joins, and after every crash. cfg is complete (ID, Storage holding
// what the node persisted, Applied, Logger, and the Plan's options) and is
// not used by the simulation after the call. An error fails the run: the
// simulation only asks for peers on valid configurations and storages.
type PeerFactory func(cfg *raft.Config) (Peer, error)

// NewRawNodePeer is the default PeerFactory: a raft.RawNode.
func NewRawNodePeer(cfg *raft.Config) (Peer, error) {
	return raft.NewRawNode(cfg)
}
