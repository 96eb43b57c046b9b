package compat

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite "+goldenPath+" from etcd-raft v3.6.0's output")

const (
	// goldenPath is the table raftpb's own tests read (raftpb/textform_test.go).
	goldenPath = "../raftpb/testdata/textform.txt"
	// goldenSeed and goldenPerKind fix the values in the table; they do not
	// follow RAFT_COMPAT_SEED, so the table changes only when the generator
	// does.
	goldenSeed    = 36
	goldenPerKind = 60
	// goldenMaxWire keeps lines readable: longer values (the deeply nested
	// messages) are left to the differential tests.
	goldenMaxWire = 512
)

// goldenTable renders the table of text and JSON forms that v3.6 gives: for
// each message type its edge values and random ones, decoded by v3.6 from
// their wire encoding, and for each enum its values around the defined
// range.
func goldenTable(t *testing.T) []byte {
	var b bytes.Buffer
	b.WriteString(`# Text and JSON forms of raftpb values as etcd-raft v3.6.0 prints them.
# Generated from v3.6.0 itself by the compat module; do not edit. To rewrite:
#   cd compat && go test -run TestTextGoldenIsCurrent -update .
# One value a line, tab-separated: the type; the value (a message's wire
# encoding in hex, an enum's number); String() as a Go-quoted string; and
# encoding/json's form.
`)
	for _, k := range structKinds {
		for i, v := range k.values(goldenSeed, goldenPerKind) {
			wire, err := v.Marshal()
			if err != nil {
				t.Fatalf("%s value %d: %v", k.name, i, err)
			}
			if len(wire) > goldenMaxWire {
				continue
			}
			e := k.newEtcd()
			if err := e.Unmarshal(wire); err != nil {
				t.Fatalf("%s value %d: v3.6 cannot decode %x: %v", k.name, i, wire, err)
			}
			js, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("%s value %d: json.Marshal: %v", k.name, i, err)
			}
			fmt.Fprintf(&b, "%s\t%x\t%s\t%s\n", k.name, wire, strconv.Quote(e.String()), js)
		}
	}
	for _, k := range enumKinds {
		for _, v := range k.values(goldenSeed, 4) {
			e := k.etcd(v)
			js, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("%s %d: json.Marshal: %v", k.name, v, err)
			}
			fmt.Fprintf(&b, "%s\t%d\t%s\t%s\n", k.name, v, strconv.Quote(e.(fmt.Stringer).String()), js)
		}
	}
	return b.Bytes()
}

// TestTextGoldenIsCurrent checks that raftpb/testdata/textform.txt, the
// table through which raftpb's own tests pin the text forms without
// depending on etcd-raft, holds what v3.6 prints. With -update it rewrites
// the table instead.
func TestTextGoldenIsCurrent(t *testing.T) {
	want := goldenTable(t)
	if *update {
		if err := os.WriteFile(goldenPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenPath)
		return
	}
	got, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (generate it with: go test -run TestTextGoldenIsCurrent -update .)", err)
	}
	if !bytes.Equal(got, want) {
		gotLines, wantLines := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range min(len(gotLines), len(wantLines)) {
			if !bytes.Equal(gotLines[i], wantLines[i]) {
				t.Fatalf("%s line %d: got %q, want %q (regenerate with: go test -run TestTextGoldenIsCurrent -update .)",
					goldenPath, i+1, gotLines[i], wantLines[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d (regenerate with: go test -run TestTextGoldenIsCurrent -update .)",
			goldenPath, len(gotLines), len(wantLines))
	}
}
