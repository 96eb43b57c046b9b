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
// Tests that run nodes of both libraries in one group (mixed clusters,
// rolling upgrades) belong in this module too, since it is the one that may
// depend on etcd-raft: Recode (with the MessageToEtcd and MessageFromEtcd
// test helpers) carries messages between such nodes as a transport would.
package compat
