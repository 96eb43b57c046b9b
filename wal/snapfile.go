package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"

	pb "github.com/quorate/raft/raftpb"
)

// A snapshot file holds one snapshot:
//
//	[0,8)   magic "QRWALSNP"
//	[8,12)  format version
//	[12,16) length of the metadata
//	[16,24) length of the data
//	[24,28) CRC-32C of the metadata and the data
//	[28,32) CRC-32C of bytes [0,28)
//	[32,..) the metadata (protobuf), then the data
//
// It is written under a temporary name, synced, renamed and its directory
// synced before the log records that it is the current snapshot.
const snapHeaderSize = 32

var snapMagic = [8]byte{'Q', 'R', 'W', 'A', 'L', 'S', 'N', 'P'}

func snapHeader(meta, data []byte) []byte {
	h := make([]byte, snapHeaderSize, snapHeaderSize+len(meta))
	copy(h[0:8], snapMagic[:])
	binary.LittleEndian.PutUint32(h[8:12], formatVersion)
	binary.LittleEndian.PutUint32(h[12:16], uint32(len(meta)))
	binary.LittleEndian.PutUint64(h[16:24], uint64(len(data)))
	crc := crc32.Update(crc32.Checksum(meta, castagnoli), castagnoli, data)
	binary.LittleEndian.PutUint32(h[24:28], crc)
	binary.LittleEndian.PutUint32(h[28:32], crc32.Checksum(h[:28], castagnoli))
	return append(h, meta...)
}

// snapHeaderInfo is a decoded snapshot file header.
type snapHeaderInfo struct {
	metaLen uint32
	dataLen uint64
	crc     uint32
}

func decodeSnapHeader(h []byte) (snapHeaderInfo, error) {
	if len(h) < snapHeaderSize {
		return snapHeaderInfo{}, errors.New("snapshot file shorter than its header")
	}
	if [8]byte(h[0:8]) != snapMagic {
		return snapHeaderInfo{}, errors.New("not a snapshot file (bad magic)")
	}
	if crc32.Checksum(h[:28], castagnoli) != binary.LittleEndian.Uint32(h[28:32]) {
		return snapHeaderInfo{}, errors.New("snapshot header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(h[8:12]); v != formatVersion {
		return snapHeaderInfo{}, fmt.Errorf("snapshot format version %d, this package reads version %d", v, formatVersion)
	}
	return snapHeaderInfo{
		metaLen: binary.LittleEndian.Uint32(h[12:16]),
		dataLen: binary.LittleEndian.Uint64(h[16:24]),
		crc:     binary.LittleEndian.Uint32(h[24:28]),
	}, nil
}

func snapName(term, index uint64) string { return fmt.Sprintf("%016x-%016x.snap", term, index) }

func (s *Store) snapPath(m *pb.SnapshotMetadata) string {
	return filepath.Join(s.dir, snapName(m.Term, m.Index))
}

// writeSnapFile makes snap durable in its own file.
func (s *Store) writeSnapFile(snap *pb.Snapshot) error {
	path := s.snapPath(&snap.Metadata)
	tmp := path + ".tmp"
	f, err := s.fs.Create(tmp)
	if err != nil {
		return err
	}
	meta := appendSnapMeta(nil, &snap.Metadata)
	_, err = f.Write(snapHeader(meta, snap.Data))
	if err == nil && len(snap.Data) > 0 {
		_, err = f.Write(snap.Data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(tmp, path)
	}
	if err == nil {
		err = s.fs.SyncDir(s.dir)
	}
	return err
}

// readSnapFile reads the snapshot file of m, checking that it holds m and
// that its checksum matches. With dataToo false it reads and checks only
// the header and metadata.
func (s *Store) readSnapFile(m *pb.SnapshotMetadata, dataToo bool) ([]byte, error) {
	path := s.snapPath(m)
	f, err := s.fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wal: opening the snapshot file: %w", err)
	}
	defer f.Close()
	corrupt := func(off int64, err error) error { return &CorruptError{Path: path, Offset: off, Err: err} }
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	h := make([]byte, snapHeaderSize)
	if _, err := f.ReadAt(h, 0); err != nil {
		return nil, corrupt(0, fmt.Errorf("reading the header: %w", err))
	}
	info, err := decodeSnapHeader(h)
	if err != nil {
		return nil, corrupt(0, err)
	}
	// NB: compared without sums, which damaged lengths could overflow.
	if body := uint64(size) - snapHeaderSize; uint64(info.metaLen) > body || info.dataLen != body-uint64(info.metaLen) {
		return nil, corrupt(0, fmt.Errorf("file of %d bytes, header says %d of metadata and %d of data", size, info.metaLen, info.dataLen))
	}
	body := make([]byte, int(info.metaLen))
	if dataToo {
		body = make([]byte, size-snapHeaderSize)
	}
	if _, err := f.ReadAt(body, snapHeaderSize); err != nil && !(errors.Is(err, io.EOF) && len(body) == 0) {
		return nil, corrupt(snapHeaderSize, fmt.Errorf("reading: %w", err))
	}
	if dataToo && crc32.Checksum(body, castagnoli) != info.crc {
		return nil, corrupt(snapHeaderSize, errors.New("snapshot checksum mismatch"))
	}
	got, err := decodeSnapMeta(body[:info.metaLen])
	if err != nil {
		return nil, corrupt(snapHeaderSize, err)
	}
	if got.Index != m.Index || got.Term != m.Term {
		return nil, corrupt(snapHeaderSize, fmt.Errorf("holds snapshot (index %d, term %d), want (index %d, term %d)", got.Index, got.Term, m.Index, m.Term))
	}
	if !dataToo {
		return nil, nil
	}
	data := body[info.metaLen:]
	if len(data) == 0 {
		return nil, nil
	}
	return data, nil
}
