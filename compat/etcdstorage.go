package compat

import (
	"errors"
	"fmt"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	etcdraft "go.etcd.io/raft/v3"
	etcdpb "go.etcd.io/raft/v3/raftpb"
)

// EtcdStorage shows one of our raft.Storage values to etcd-raft v3.6 as its
// own Storage. Every value it hands out is decoded from the wire encoding
// of what the storage holds, and every error is the value of etcd-raft's
// that carries the same meaning (ErrCompacted, ErrUnavailable, ...), since
// etcd-raft tells them apart by identity. It holds nothing of its own: a
// peer restarted on it finds exactly what the storage holds.
type EtcdStorage struct {
	// S is the storage read from; it must not be nil.
	S raft.Storage
}

var _ etcdraft.Storage = EtcdStorage{}

// InitialState implements etcdraft.Storage.
func (s EtcdStorage) InitialState() (etcdpb.HardState, etcdpb.ConfState, error) {
	hs, cs, err := s.S.InitialState()
	if err != nil {
		return etcdpb.HardState{}, etcdpb.ConfState{}, storageErrToEtcd(err)
	}
	var ehs etcdpb.HardState
	var ecs etcdpb.ConfState
	if err := Recode(&ehs, &hs); err != nil {
		return ehs, ecs, fmt.Errorf("compat: recoding the stored HardState: %w", err)
	}
	if err := Recode(&ecs, &cs); err != nil {
		return ehs, ecs, fmt.Errorf("compat: recoding the stored ConfState: %w", err)
	}
	return ehs, ecs, nil
}

// Entries implements etcdraft.Storage.
func (s EtcdStorage) Entries(lo, hi, maxSize uint64) ([]etcdpb.Entry, error) {
	ents, err := s.S.Entries(lo, hi, maxSize)
	if err != nil {
		return nil, storageErrToEtcd(err)
	}
	out, err := entriesToEtcd(ents)
	if err != nil {
		return nil, fmt.Errorf("compat: recoding stored entries [%d, %d): %w", lo, hi, err)
	}
	return out, nil
}

// Term implements etcdraft.Storage.
func (s EtcdStorage) Term(i uint64) (uint64, error) {
	t, err := s.S.Term(i)
	return t, storageErrToEtcd(err)
}

// LastIndex implements etcdraft.Storage.
func (s EtcdStorage) LastIndex() (uint64, error) {
	i, err := s.S.LastIndex()
	return i, storageErrToEtcd(err)
}

// FirstIndex implements etcdraft.Storage.
func (s EtcdStorage) FirstIndex() (uint64, error) {
	i, err := s.S.FirstIndex()
	return i, storageErrToEtcd(err)
}

// Snapshot implements etcdraft.Storage.
func (s EtcdStorage) Snapshot() (etcdpb.Snapshot, error) {
	snap, err := s.S.Snapshot()
	if err != nil {
		return etcdpb.Snapshot{}, storageErrToEtcd(err)
	}
	var out etcdpb.Snapshot
	if err := Recode(&out, &snap); err != nil {
		return etcdpb.Snapshot{}, fmt.Errorf("compat: recoding the stored snapshot: %w", err)
	}
	return out, nil
}

// errorPair is an error of ours and etcd-raft's error of the same
// meaning.
type errorPair struct{ ours, etcd error }

// storageErrors pairs the storage errors.
var storageErrors = []errorPair{
	{raft.ErrCompacted, etcdraft.ErrCompacted},
	{raft.ErrSnapOutOfDate, etcdraft.ErrSnapOutOfDate},
	{raft.ErrUnavailable, etcdraft.ErrUnavailable},
	{raft.ErrSnapshotTemporarilyUnavailable, etcdraft.ErrSnapshotTemporarilyUnavailable},
}

// stepErrors pairs the errors a RawNode returns.
var stepErrors = []errorPair{
	{raft.ErrProposalDropped, etcdraft.ErrProposalDropped},
	{raft.ErrStepLocalMsg, etcdraft.ErrStepLocalMsg},
	{raft.ErrStepPeerNotFound, etcdraft.ErrStepPeerNotFound},
}

// crossError returns the other library's value for an error of pairs,
// toEtcd saying which way, and any other error (or nil) as it is.
func crossError(err error, pairs []errorPair, toEtcd bool) error {
	for _, p := range pairs {
		switch {
		case toEtcd && errors.Is(err, p.ours):
			return p.etcd
		case !toEtcd && errors.Is(err, p.etcd):
			return p.ours
		}
	}
	return err
}

// storageErrToEtcd returns etcd-raft's value for one of our storage errors.
func storageErrToEtcd(err error) error { return crossError(err, storageErrors, true) }

// storageErrFromEtcd returns our value for one of etcd-raft's storage
// errors.
func storageErrFromEtcd(err error) error { return crossError(err, storageErrors, false) }

// stepErrFromEtcd returns our value for an error of etcd-raft's RawNode.
func stepErrFromEtcd(err error) error { return crossError(err, stepErrors, false) }

// entriesToEtcd recodes entries into etcd-raft's type. They cross in one
// piece, as the entries of a message, which encodes each of them exactly
// as it encodes on its own.
func entriesToEtcd(ents []pb.Entry) ([]etcdpb.Entry, error) {
	if len(ents) == 0 {
		return nil, nil
	}
	var out etcdpb.Message
	if err := Recode(&out, &pb.Message{Entries: ents}); err != nil {
		return nil, err
	}
	return out.Entries, nil
}

// entriesFromEtcd is entriesToEtcd the other way round.
func entriesFromEtcd(ents []etcdpb.Entry) ([]pb.Entry, error) {
	if len(ents) == 0 {
		return nil, nil
	}
	var out pb.Message
	if err := Recode(&out, &etcdpb.Message{Entries: ents}); err != nil {
		return nil, err
	}
	return out.Entries, nil
}

// messagesFromEtcd recodes messages from etcd-raft's type, in one piece as
// the responses of a carrier message.
func messagesFromEtcd(ms []etcdpb.Message) ([]pb.Message, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	var out pb.Message
	if err := Recode(&out, &etcdpb.Message{Responses: ms}); err != nil {
		return nil, err
	}
	return out.Responses, nil
}
