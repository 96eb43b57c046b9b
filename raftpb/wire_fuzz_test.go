package raftpb

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkReencode asserts, for a value just decoded from arbitrary bytes, that
// its encoding is consistent with Size and decodes to an equal value, and that
// encoding is then a fixed point (decode(encode(v)) encodes the same again).
// Unknown fields, packed repeated fields and repeated scalar fields are
// normalised by the first decode, so the first input need not be canonical.
func checkReencode(t *testing.T, v wireMessage) {
	t.Helper()
	data, err := v.Marshal()
	require.NoError(t, err)
	require.Equal(t, len(data), v.Size(), "Size: got %d, want len(Marshal()) = %d", v.Size(), len(data))

	again := newZeroLike(v)
	require.NoError(t, again.Unmarshal(data), "re-decoding %x", data)
	require.Equal(t, v, again, "re-decoded: got %+v, want %+v", again, v)

	data2, err := again.Marshal()
	require.NoError(t, err)
	require.Equal(t, data, data2, "re-encoded: got %x, want %x", data2, data)
}

// FuzzMessageUnmarshal checks that Message.Unmarshal never panics on
// arbitrary input, and that whatever it accepts re-encodes consistently. The
// checked-in corpus is in testdata/fuzz/FuzzMessageUnmarshal.
func FuzzMessageUnmarshal(f *testing.F) {
	for _, g := range messageGoldens {
		f.Add(mustHex(g.wire))
	}
	for _, in := range malformedMessages {
		f.Add(mustHex(in.wire))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := m.Unmarshal(data); err != nil {
			return
		}
		checkReencode(t, &m)
	})
}

// FuzzWireTypesUnmarshal does the same as FuzzMessageUnmarshal for every
// other wire type, decoding each input as each of them.
func FuzzWireTypesUnmarshal(f *testing.F) {
	for _, g := range typeGoldens {
		f.Add(mustHex(g.wire))
	}
	for _, in := range malformedMessages {
		f.Add(mustHex(in.wire))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []wireMessage{
			&Entry{}, &HardState{}, &ConfState{}, &ConfChange{}, &ConfChangeSingle{},
			&ConfChangeV2{}, &Snapshot{}, &SnapshotMetadata{},
		} {
			if err := v.Unmarshal(data); err != nil {
				continue
			}
			checkReencode(t, v)
		}
	})
}

// TestMessageCorpusMatchesFileNames keeps the checked-in seed corpus honest:
// files named valid-* must decode, all others (truncated-*, malformed-*)
// must be rejected.
func TestMessageCorpusMatchesFileNames(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzMessageUnmarshal")
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(file.Name(), func(t *testing.T) {
			data := readCorpusBytes(t, filepath.Join(dir, file.Name()))
			var m Message
			err := m.Unmarshal(data)
			if strings.HasPrefix(file.Name(), "valid-") {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err, "got %+v, want an error", m)
			}
		})
	}
}

// readCorpusBytes reads a "go test fuzz v1" file holding one []byte value.
func readCorpusBytes(t *testing.T, path string) []byte {
	t.Helper()
	content, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(content)), "\n")
	require.Len(t, lines, 2, "got %d lines, want a header and one value", len(lines))
	require.Equal(t, "go test fuzz v1", lines[0])
	lit, ok := strings.CutPrefix(lines[1], "[]byte(")
	require.True(t, ok, "got %q, want a []byte value", lines[1])
	lit, ok = strings.CutSuffix(lit, ")")
	require.True(t, ok, "got %q, want a []byte value", lines[1])
	s, err := strconv.Unquote(lit)
	require.NoError(t, err)
	return []byte(s)
}
