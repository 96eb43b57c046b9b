package compat

import (
	"errors"
	"fmt"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/rafttest/sim"
	etcdraft "go.etcd.io/raft/v3"
	etcdpb "go.etcd.io/raft/v3/raftpb"
)

// EtcdPeer is a go.etcd.io/raft/v3 v3.6.0 RawNode behind the API of ours
// (sim.Peer), so that a host written for this library, the simulation in
// rafttest/sim for one, can run etcd-raft peers beside its own.
//
// Nothing of protobuf type passes between the two libraries as a value:
// messages, entries, HardStates, ConfStates, snapshots and configuration
// changes cross as their wire encoding (see Recode), as they would between
// two processes or through a WAL. What is not a protobuf type crosses
// field by field: the soft state, ReadStates, statuses, errors (mapped to
// the values of this library that mean the same), and the configuration.
//
// Like a RawNode, an EtcdPeer is not safe for concurrent use. It panics if a
// value handed out by etcd-raft fails to decode in our types, which would
// mean that the wire formats differ.
type EtcdPeer struct {
	rn *etcdraft.RawNode
	// rd is the etcd-raft Ready last handed out, which Advance hands back.
	rd etcdraft.Ready
}

var _ sim.Peer = (*EtcdPeer)(nil)

// NewEtcdPeer starts an etcd-raft RawNode on cfg (see EtcdConfig) and wraps
// it. cfg.Storage is read through EtcdStorage, so the peer starts from
// exactly what that storage holds. It returns etcd-raft's error for a
// configuration or storage it refuses.
func NewEtcdPeer(cfg *raft.Config) (*EtcdPeer, error) {
	ec, err := EtcdConfig(cfg)
	if err != nil {
		return nil, err
	}
	rn, err := etcdraft.NewRawNode(ec)
	if err != nil {
		return nil, fmt.Errorf("compat: etcd-raft refused to start peer %d: %w", cfg.ID, storageErrFromEtcd(err))
	}
	return &EtcdPeer{rn: rn}, nil
}

// NewEtcdSimPeer is NewEtcdPeer as a sim.PeerFactory.
func NewEtcdSimPeer(cfg *raft.Config) (sim.Peer, error) {
	return NewEtcdPeer(cfg)
}

// EtcdConfig returns etcd-raft's configuration for what cfg asks of one of
// our peers. Every option etcd-raft v3.6 has is copied, its Storage is
// cfg.Storage seen through EtcdStorage, and its Logger is cfg.Logger (nil
// leaves etcd-raft's default). The options etcd-raft lacks are not carried:
// RandomSource (etcd-raft draws its election timeouts from crypto/rand) and
// LeaseGuardOnRestart (an etcd-raft voter votes at once after a restart),
// nor are TraceLogger and the reports ReportRefusedConfChanges,
// ReportDroppedReads and ReportLostLog (etcd-raft v3.6 has none). It returns an error for a ReadOnlyOption it does not
// know or a missing Storage; etcd-raft validates the rest when it starts.
func EtcdConfig(cfg *raft.Config) (*etcdraft.Config, error) {
	if cfg.Storage == nil {
		return nil, errors.New("compat: the configuration has no Storage")
	}
	var ro etcdraft.ReadOnlyOption
	switch cfg.ReadOnlyOption {
	case raft.ReadOnlySafe:
		ro = etcdraft.ReadOnlySafe
	case raft.ReadOnlyLeaseBased:
		ro = etcdraft.ReadOnlyLeaseBased
	default:
		return nil, fmt.Errorf("compat: unknown ReadOnlyOption %d", cfg.ReadOnlyOption)
	}
	ec := &etcdraft.Config{
		ID:                          cfg.ID,
		ElectionTick:                cfg.ElectionTick,
		HeartbeatTick:               cfg.HeartbeatTick,
		Storage:                     EtcdStorage{S: cfg.Storage},
		Applied:                     cfg.Applied,
		AsyncStorageWrites:          cfg.AsyncStorageWrites,
		MaxSizePerMsg:               cfg.MaxSizePerMsg,
		MaxCommittedSizePerReady:    cfg.MaxCommittedSizePerReady,
		MaxUncommittedEntriesSize:   cfg.MaxUncommittedEntriesSize,
		MaxInflightMsgs:             cfg.MaxInflightMsgs,
		MaxInflightBytes:            cfg.MaxInflightBytes,
		CheckQuorum:                 cfg.CheckQuorum,
		PreVote:                     cfg.PreVote,
		ReadOnlyOption:              ro,
		DisableProposalForwarding:   cfg.DisableProposalForwarding,
		DisableConfChangeValidation: cfg.DisableConfChangeValidation,
		StepDownOnRemoval:           cfg.StepDownOnRemoval,
	}
	if cfg.Logger != nil {
		// NB: the two Logger interfaces have the same methods.
		ec.Logger = cfg.Logger
	}
	return ec, nil
}

// Tick implements sim.Peer.
func (p *EtcdPeer) Tick() { p.rn.Tick() }

// Campaign implements sim.Peer.
func (p *EtcdPeer) Campaign() error { return stepErrFromEtcd(p.rn.Campaign()) }

// Propose implements sim.Peer.
func (p *EtcdPeer) Propose(data []byte) error { return stepErrFromEtcd(p.rn.Propose(data)) }

// ProposeConfChange implements sim.Peer.
func (p *EtcdPeer) ProposeConfChange(cc pb.ConfChangeI) error {
	ecc, err := confChangeToEtcd(cc)
	if err != nil {
		return err
	}
	return stepErrFromEtcd(p.rn.ProposeConfChange(ecc))
}

// ApplyConfChange implements sim.Peer.
func (p *EtcdPeer) ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState {
	ecc, err := confChangeToEtcd(cc)
	if err != nil {
		panic(fmt.Sprintf("compat: a configuration change to apply does not cross to etcd-raft: %v", err))
	}
	ecs := p.rn.ApplyConfChange(ecc)
	var cs pb.ConfState
	mustRecode(&cs, ecs, "the ConfState after a change")
	return &cs
}

// Step implements sim.Peer. A message that does not cross (which would be a
// defect of one library's encoding) is an error.
func (p *EtcdPeer) Step(m pb.Message) error {
	var em etcdpb.Message
	if err := Recode(&em, &m); err != nil {
		return fmt.Errorf("compat: message %s does not cross to etcd-raft: %w", m.Type, err)
	}
	return stepErrFromEtcd(p.rn.Step(em))
}

// HasReady implements sim.Peer.
func (p *EtcdPeer) HasReady() bool { return p.rn.HasReady() }

// Ready implements sim.Peer.
func (p *EtcdPeer) Ready() raft.Ready {
	p.rd = p.rn.Ready()
	return readyFromEtcd(p.rd)
}

// Advance implements sim.Peer. etcd-raft is handed back its own Ready: the
// one the last call to Ready returned.
func (p *EtcdPeer) Advance(raft.Ready) {
	p.rn.Advance(p.rd)
	p.rd = etcdraft.Ready{}
}

// ReadIndex implements sim.Peer.
func (p *EtcdPeer) ReadIndex(rctx []byte) { p.rn.ReadIndex(rctx) }

// TransferLeader implements sim.Peer.
func (p *EtcdPeer) TransferLeader(transferee uint64) { p.rn.TransferLeader(transferee) }

// ForgetLeader implements sim.Peer.
func (p *EtcdPeer) ForgetLeader() error { return stepErrFromEtcd(p.rn.ForgetLeader()) }

// ReportUnreachable implements sim.Peer.
func (p *EtcdPeer) ReportUnreachable(id uint64) { p.rn.ReportUnreachable(id) }

// ReportSnapshot implements sim.Peer.
func (p *EtcdPeer) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	es := etcdraft.SnapshotFinish
	if status == raft.SnapshotFailure {
		es = etcdraft.SnapshotFailure
	}
	p.rn.ReportSnapshot(id, es)
}

// BasicStatus implements sim.Peer.
func (p *EtcdPeer) BasicStatus() raft.BasicStatus {
	es := p.rn.BasicStatus()
	st := raft.BasicStatus{
		ID:             es.ID,
		SoftState:      softStateFromEtcd(es.SoftState),
		Applied:        es.Applied,
		LeadTransferee: es.LeadTransferee,
	}
	mustRecode(&st.HardState, &es.HardState, "the HardState of a status")
	return st
}

// Voters returns the voters of the configuration the peer acts on: the
// incoming ones, and the outgoing ones of a joint configuration (nil if
// none), each in no particular order.
func (p *EtcdPeer) Voters() (incoming, outgoing []uint64) {
	cfg := p.rn.Status().Config
	for id := range cfg.Voters[0] {
		incoming = append(incoming, id)
	}
	for id := range cfg.Voters[1] {
		outgoing = append(outgoing, id)
	}
	return incoming, outgoing
}

// readyFromEtcd returns rd in our types.
func readyFromEtcd(rd etcdraft.Ready) raft.Ready {
	var out raft.Ready
	if rd.SoftState != nil {
		ss := softStateFromEtcd(*rd.SoftState)
		out.SoftState = &ss
	}
	mustRecode(&out.HardState, &rd.HardState, "a Ready's HardState")
	mustRecode(&out.Snapshot, &rd.Snapshot, "a Ready's snapshot")
	var err error
	if out.Entries, err = entriesFromEtcd(rd.Entries); err != nil {
		panic(fmt.Sprintf("compat: a Ready's entries do not cross from etcd-raft: %v", err))
	}
	if out.CommittedEntries, err = entriesFromEtcd(rd.CommittedEntries); err != nil {
		panic(fmt.Sprintf("compat: a Ready's committed entries do not cross from etcd-raft: %v", err))
	}
	if out.Messages, err = messagesFromEtcd(rd.Messages); err != nil {
		panic(fmt.Sprintf("compat: a Ready's messages do not cross from etcd-raft: %v", err))
	}
	for _, rs := range rd.ReadStates {
		out.ReadStates = append(out.ReadStates, raft.ReadState{Index: rs.Index, RequestCtx: append([]byte(nil), rs.RequestCtx...)})
	}
	out.MustSync = rd.MustSync
	return out
}

// softStateFromEtcd returns ss in our type.
func softStateFromEtcd(ss etcdraft.SoftState) raft.SoftState {
	var st raft.StateType
	switch ss.RaftState {
	case etcdraft.StateFollower:
		st = raft.StateFollower
	case etcdraft.StateCandidate:
		st = raft.StateCandidate
	case etcdraft.StateLeader:
		st = raft.StateLeader
	case etcdraft.StatePreCandidate:
		st = raft.StatePreCandidate
	default:
		panic(fmt.Sprintf("compat: etcd-raft reports an unknown role %d", ss.RaftState))
	}
	return raft.SoftState{Lead: ss.Lead, RaftState: st}
}

// confChangeToEtcd recodes cc into etcd-raft's type of the same version.
func confChangeToEtcd(cc pb.ConfChangeI) (etcdpb.ConfChangeI, error) {
	if v1, ok := cc.AsV1(); ok {
		var out etcdpb.ConfChange
		if err := Recode(&out, &v1); err != nil {
			return nil, fmt.Errorf("compat: ConfChange does not cross to etcd-raft: %w", err)
		}
		return out, nil
	}
	v2 := cc.AsV2()
	var out etcdpb.ConfChangeV2
	if err := Recode(&out, &v2); err != nil {
		return nil, fmt.Errorf("compat: ConfChangeV2 does not cross to etcd-raft: %w", err)
	}
	return out, nil
}

// mustRecode recodes src into dst, and panics if that fails: the value
// came from one library and must decode in the other's type.
func mustRecode(dst Decoder, src Encoder, what string) {
	if err := Recode(dst, src); err != nil {
		panic(fmt.Sprintf("compat: %s does not cross between the libraries: %v", what, err))
	}
}
