// Package compat checks quorate/raft against go.etcd.io/raft/v3 v3.6.0, the
// library it replaces, by running both side by side and comparing what they
// do. It lives in a module of its own so that the library keeps its three
// dependencies; etcd-raft is used only as a black box here.
//
// A value built in our types reaches v3.6's in two ways: copied field by
// field (so that nil and empty slices stay as they are), and as marshalled
// bytes (see Recode), as it would between two peers, a WAL and its reader,
// or a node before and after an upgrade.
//
// What is checked so far, in the package tests:
//
//   - text forms (textform_test.go): String of every raftpb type and enum,
//     and fmt's %v, %+v and %s where they go through String, are identical
//     to v3.6's on seeded random values and on edge values;
//   - JSON forms (json_test.go): encoding/json marshals every raftpb type to
//     the same bytes, and decodes the same documents (enum names included) to
//     the same values or the same errors;
//   - the golden table raftpb/testdata/textform.txt, which lets raftpb's own
//     tests pin the text forms without etcd-raft, is what v3.6 prints.
//
// The number of random values per type defaults to 2000, enough for CI;
// RAFT_COMPAT_VALUES raises it for a longer sweep and RAFT_COMPAT_SEED picks
// another seed (see sweepSize in kinds_test.go).
//
// EtcdPeer runs an etcd-raft v3.6.0 RawNode behind our RawNode's API (the
// sim.Peer interface of rafttest/sim), and EtcdStorage shows one of our
// storages to etcd-raft; between the libraries, every protobuf value
// crosses as its wire encoding. With them the package tests run groups
// that mix the two libraries under the simulation's faults and oracles:
//
//   - mixed clusters (mixed_test.go): every mix of initial voters from one
//     of ours to all but one, in every mode, with the reads the oracles
//     check and those known to show v3.6's flaws told apart (see readClass
//     in mixwatch_test.go); the CI sweep runs at least 0.6 million steps,
//     -mixed.total or -mixed.seeds a longer one, -mixed.seed one seed
//     (with -mixed.trace);
//   - a rolling migration (rolling_test.go): groups started on etcd-raft,
//     whose nodes restart one at a time on ours from what they persisted
//     (etcd-raft's MemoryStorage, carried over entry by entry), and back.
//
// etcd-raft draws its randomness from crypto/rand, so these runs set a
// deterministic source for the process (cryptotest.SetGlobalRandom) and run
// one at a time.
package compat
