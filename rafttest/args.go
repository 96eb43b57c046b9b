package rafttest

import (
	"strconv"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// positional returns the arguments given without "=", in order: node IDs
// and, for some commands, data (e.g. "propose 1 foo").
func positional(d *datadriven.TestData) []string {
	var args []string
	for _, a := range d.CmdArgs {
		if len(a.Vals) == 0 {
			args = append(args, a.Key)
		}
	}
	return args
}

// parseID parses a node ID, failing the test on a malformed one.
func parseID(t *testing.T, d *datadriven.TestData, s string) uint64 {
	t.Helper()
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		t.Fatalf("%s: %q is not a node ID (a positive integer)", d.Pos, s)
	}
	return id
}

// nodeIDs parses every positional argument as a node ID. With none given
// it returns the IDs of all nodes of env.
func nodeIDs(env *InteractionEnv, t *testing.T, d *datadriven.TestData) []uint64 {
	t.Helper()
	args := positional(d)
	if len(args) == 0 {
		ids := make([]uint64, len(env.Nodes))
		for i := range env.Nodes {
			ids[i] = uint64(i + 1)
		}
		return ids
	}
	ids := make([]uint64, len(args))
	for i, s := range args {
		ids[i] = parseID(t, d, s)
	}
	return ids
}

// singleNodeID parses the first positional argument as the node the
// command acts on and returns it with the remaining positional arguments.
func singleNodeID(t *testing.T, d *datadriven.TestData) (uint64, []string) {
	t.Helper()
	args := positional(d)
	if len(args) == 0 {
		t.Fatalf("%s: %s needs the ID of the node to act on", d.Pos, d.Cmd)
	}
	return parseID(t, d, args[0]), args[1:]
}

// exactlyOneNodeID is singleNodeID for commands that take nothing else.
func exactlyOneNodeID(t *testing.T, d *datadriven.TestData) uint64 {
	t.Helper()
	id, rest := singleNodeID(t, d)
	if len(rest) > 0 {
		t.Fatalf("%s: %s takes one node ID, got extra arguments %v", d.Pos, d.Cmd, rest)
	}
	return id
}

// idList scans a key=(1,2,3) argument into node IDs; absent means nil.
func idList(t *testing.T, d *datadriven.TestData, key string) []uint64 {
	t.Helper()
	arg, ok := d.Arg(key)
	if !ok {
		return nil
	}
	ids := make([]uint64, 0, len(arg.Vals))
	for _, v := range arg.Vals {
		if v == "" {
			continue
		}
		ids = append(ids, parseID(t, d, v))
	}
	return ids
}
