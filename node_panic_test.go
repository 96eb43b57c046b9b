package raft

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// brokenTermStorage is a Storage whose Term fails with an error raft does
// not expect once armed, which breaks one of its invariants.
type brokenTermStorage struct {
	*MemoryStorage
	armed bool
}

func (s *brokenTermStorage) Term(i uint64) (uint64, error) {
	if s.armed {
		return 0, errors.New("disk on fire")
	}
	return s.MemoryStorage.Term(i)
}

// nodePanicChild is set in the process TestNodePanicEndsTheProcess starts.
const nodePanicChild = "RAFT_TEST_NODE_PANIC_CHILD"

// TestNodePanicEndsTheProcess checks that a broken invariant met while a
// Node serves a request on the caller's goroutine ends the process, as it
// would in a node goroutine of its own, even when the caller recovers from
// panics (as an HTTP server does): the node must not go on, locked, from a
// state that may be corrupt. The request runs in a child process.
func TestNodePanicEndsTheProcess(t *testing.T) {
	if os.Getenv(nodePanicChild) == "1" {
		s := &brokenTermStorage{MemoryStorage: storageWithLog(t, []uint64{1, 2}, 1, 1, 1)}
		n := RestartNode(newTestConfig(1, s))
		s.armed = true
		func() {
			defer func() { _ = recover() }()
			// An append after index 2, a stored entry, makes the log read
			// its term from Storage.
			_ = n.Step(context.Background(), pb.Message{Type: pb.MsgApp, From: 2, To: 1, Term: 1, Index: 2, LogTerm: 1})
		}()
		// Reached only if the panic did not end the process.
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNodePanicEndsTheProcess$")
	cmd.Env = append(os.Environ(), nodePanicChild+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "got the child ending with %v, want it to crash; output:\n%s", err, out)
	assert.NotEqual(t, 0, exit.ExitCode(), "got exit code 0")
	assert.True(t, strings.Contains(string(out), "raft: node 1:"), "got output without the node's panic:\n%s", out)
	assert.True(t, strings.Contains(string(out), "disk on fire"), "got output without the cause:\n%s", out)
}
