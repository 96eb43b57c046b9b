package raftpb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedCodeIsCurrent regenerates raft.pb.go from raft.proto into a
// temporary directory with scripts/genproto.sh and requires the checked-in
// file to be byte-for-byte identical, so that raft.proto stays the source of
// truth for the wire format.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: runs protoc through scripts/genproto.sh")
	}
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc not found on PATH; install Debian's protobuf-compiler or run scripts/genproto.sh, which installs it")
	}
	dir := t.TempDir()
	out, err := exec.Command(filepath.Join("..", "scripts", "genproto.sh"), dir).CombinedOutput()
	require.NoError(t, err, "scripts/genproto.sh failed:\n%s", out)

	got, err := os.ReadFile(filepath.Join(dir, "raft.pb.go"))
	require.NoError(t, err)
	want, err := os.ReadFile("raft.pb.go")
	require.NoError(t, err)
	if !bytes.Equal(got, want) {
		line := 1 + bytes.Count(want[:commonPrefixLen(got, want)], []byte("\n"))
		t.Fatalf("raftpb/raft.pb.go is stale: regenerated output first differs at line %d "+
			"(got %d bytes, want %d); run scripts/genproto.sh and commit the result", line, len(got), len(want))
	}
}

// commonPrefixLen returns the length of the longest common prefix of a and b.
func commonPrefixLen(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
