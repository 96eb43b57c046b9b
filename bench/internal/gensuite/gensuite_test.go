package gensuite

import (
	"bytes"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSuiteCopyIsFresh fails while ../../etcd is not what the generator
// makes of ../../ours: the two libraries would not be measured by the same
// code. Fix it with `go generate` in the bench module's root.
func TestSuiteCopyIsFresh(t *testing.T) {
	problems, err := Stale(filepath.Join("..", "..", "ours"), filepath.Join("..", "..", "etcd"))
	if err != nil {
		t.Fatalf("Stale: got %v, want nil", err)
	}
	if len(problems) > 0 {
		t.Errorf("etcd copy of the suite: got %d stale files, want none; run `go generate` in the bench module:\n%s",
			len(problems), strings.Join(problems, "\n"))
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want lists lines the output must contain, in order.
		want []string
	}{
		{
			name: "the root package and subpackages move",
			src:  "package p\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/quorate/raft\"\n\tpb \"github.com/quorate/raft/raftpb\"\n)\n\nvar _ = fmt.Sprint(raft.None, pb.MsgApp)\n",
			want: []string{"\t\"fmt\"", "\t\"go.etcd.io/raft/v3\"", "\tpb \"go.etcd.io/raft/v3/raftpb\""},
		},
		{
			name: "other imports and the code stay",
			src:  "package p\n\nimport \"github.com/quorate/raftish\"\n\n// Uses github.com/quorate/raft.\nvar X = raftish.Y\n",
			want: []string{"import \"github.com/quorate/raftish\"", "// Uses github.com/quorate/raft.", "var X = raftish.Y"},
		},
		{
			name: "a moved import is sorted among its group as gofmt would",
			src:  "package p\n\nimport (\n\t\"github.com/quorate/raft\"\n\t\"github.com/zz/other\"\n)\n\nvar _, _ = raft.None, other.X\n",
			want: []string{"\t\"github.com/zz/other\"", "\t\"go.etcd.io/raft/v3\""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Rewrite("x_test.go", []byte(tt.src))
			if err != nil {
				t.Fatalf("Rewrite: got %v, want nil", err)
			}
			lines := strings.Split(string(out), "\n")
			if lines[0] != Header("x_test.go") {
				t.Errorf("first line: got %q, want %q", lines[0], Header("x_test.go"))
			}
			at := 0
			for _, w := range tt.want {
				i := slices.Index(lines[at:], w)
				if i < 0 {
					t.Fatalf("output: got\n%s\nwant line %q after line %d", out, w, at)
				}
				at += i + 1
			}
			if bytes.Contains(out, []byte(`"github.com/quorate/raft"`)) || bytes.Contains(out, []byte(`"github.com/quorate/raft/`)) {
				t.Errorf("output: got an import of this module left in\n%s", out)
			}
			formatted, err := format.Source(out)
			if err != nil {
				t.Fatalf("format.Source: got %v, want nil", err)
			}
			if !bytes.Equal(formatted, out) {
				t.Errorf("output is not gofmt-clean: got\n%s\nwant\n%s", out, formatted)
			}
		})
	}
	t.Run("an import of the bench module is refused", func(t *testing.T) {
		src := "package p\n\nimport \"github.com/quorate/raft/bench/internal/gensuite\"\n\nvar _ = gensuite.Header\n"
		if _, err := Rewrite("x_test.go", []byte(src)); err == nil {
			t.Errorf("Rewrite: got nil error, want one naming the bench module")
		}
	})
	t.Run("source that does not parse is an error", func(t *testing.T) {
		if _, err := Rewrite("x_test.go", []byte("package p\nfunc {")); err == nil {
			t.Errorf("Rewrite: got nil error, want a parse error")
		}
	})
}

func TestStale(t *testing.T) {
	src := t.TempDir()
	writeFile(t, src, "a_test.go", "package p\n\nimport _ \"github.com/quorate/raft\"\n")
	writeFile(t, src, "b_test.go", "package p\n")
	dst := filepath.Join(t.TempDir(), "copy")

	t.Run("Write makes a fresh copy", func(t *testing.T) {
		if err := Write(src, dst); err != nil {
			t.Fatalf("Write: got %v, want nil", err)
		}
		assertStale(t, src, dst, nil)
	})
	t.Run("a changed source is reported", func(t *testing.T) {
		writeFile(t, src, "b_test.go", "package p\n\nvar X = 1\n")
		assertStale(t, src, dst, []string{"b_test.go: differs from its source"})
	})
	t.Run("a new source is reported missing", func(t *testing.T) {
		writeFile(t, src, "c_test.go", "package p\n")
		assertStale(t, src, dst, []string{"b_test.go: differs from its source", "c_test.go: missing"})
	})
	t.Run("a file without source is reported and Write removes it", func(t *testing.T) {
		if err := Write(src, dst); err != nil {
			t.Fatalf("Write: got %v, want nil", err)
		}
		writeFile(t, dst, "extra_test.go", "package p\n")
		assertStale(t, src, dst, []string{"extra_test.go: extra file"})
		if err := Write(src, dst); err != nil {
			t.Fatalf("Write: got %v, want nil", err)
		}
		assertStale(t, src, dst, nil)
		if _, err := os.Stat(filepath.Join(dst, "extra_test.go")); !os.IsNotExist(err) {
			t.Errorf("extra_test.go after Write: got %v, want it removed", err)
		}
	})
}

func assertStale(t *testing.T, src, dst string, want []string) {
	t.Helper()
	got, err := Stale(src, dst)
	if err != nil {
		t.Fatalf("Stale: got %v, want nil", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Stale: got %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("Stale[%d]: got %q, want %q", i, got[i], want[i])
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
