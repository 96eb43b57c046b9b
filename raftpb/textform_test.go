package raftpb

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The expected strings here are what etcd-raft v3.6.0 prints for the same
// values; the compat module checks the rules on random values against
// v3.6.0 itself, and keeps testdata/textform.txt current.

// TestStringRules pins, one rule per case, the text form described at the
// top of textform.go.
func TestStringRules(t *testing.T) {
	all := make([]byte, 0, 256)
	for c := range 256 {
		all = append(all, byte(c))
	}
	for _, tc := range []struct {
		name string
		v    fmt.Stringer
		want string
	}{
		{"zero entry prints nothing", &Entry{}, ""},
		{"zero message prints nothing", &Message{}, ""},
		{"zero hard state prints nothing", &HardState{}, ""},
		{"zero conf change v2 prints nothing", &ConfChangeV2{}, ""},
		{"nil pointer", (*Message)(nil), "<nil>"},
		{"non-zero scalars only, trailing space", &HardState{Term: 1}, "term:1 "},
		{"declaration order, not field number order",
			&Entry{Type: EntryConfChange, Term: 2, Index: 3}, "Term:2 Index:3 Type:EntryConfChange "},
		{"message fields in declaration order",
			&Message{Type: MsgHeartbeatResp, To: 8, From: 7, Term: 6, LogTerm: 4, Index: 5, Commit: 2, Vote: 1,
				Snapshot: &Snapshot{}, Reject: true, RejectHint: 3, Context: []byte("x")},
			`type:MsgHeartbeatResp to:8 from:7 term:6 logTerm:4 index:5 commit:2 vote:1 snapshot:<> reject:true rejectHint:3 context:"x" `},
		{"conf change id comes last", &ConfChange{ID: 3, NodeID: 2, Context: []byte{}},
			`node_id:2 context:"" id:3 `},
		{"max uint64", &HardState{Commit: math.MaxUint64}, "commit:18446744073709551615 "},
		{"false bool omitted", &ConfState{Voters: []uint64{1}}, "voters:1 "},
		{"true bool", &ConfState{AutoLeave: true}, "auto_leave:true "},
		{"nil bytes omitted", &Entry{Term: 1, Data: nil}, "Term:1 "},
		{"empty bytes written", &Entry{Data: []byte{}}, `Data:"" `},
		{"bytes escaped", &Entry{Data: []byte("a\"b\\c\nd\re\tf\x00\a\x7f\xff")},
			`Data:"a\"b\\c\nd\re\tf\000\007\177\377" `},
		{"every byte", &Snapshot{Data: all}, `data:"` +
			`\000\001\002\003\004\005\006\007\010\t\n\013\014\r\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037` +
			` !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_` + "`" + `abcdefghijklmnopqrstuvwxyz{|}~\177` +
			`\200\201\202\203\204\205\206\207\210\211\212\213\214\215\216\217\220\221\222\223\224\225\226\227\230\231\232\233\234\235\236\237` +
			`\240\241\242\243\244\245\246\247\250\251\252\253\254\255\256\257\260\261\262\263\264\265\266\267\270\271\272\273\274\275\276\277` +
			`\300\301\302\303\304\305\306\307\310\311\312\313\314\315\316\317\320\321\322\323\324\325\326\327\330\331\332\333\334\335\336\337` +
			`\340\341\342\343\344\345\346\347\350\351\352\353\354\355\356\357\360\361\362\363\364\365\366\367\370\371\372\373\374\375\376\377" `},
		{"UTF-8 written byte by byte", &ConfChange{Context: []byte("é€")}, `context:"\303\251\342\202\254" `},
		{"repeated ids one field each", &ConfState{Voters: []uint64{1, 2}, LearnersNext: []uint64{0}},
			"voters:1 voters:2 learners_next:0 "},
		{"empty repeated ids omitted", &ConfState{Voters: []uint64{}, Learners: []uint64{}}, ""},
		{"nil snapshot pointer omitted", &Message{To: 1}, "to:1 "},
		{"empty snapshot written", &Message{Snapshot: &Snapshot{}}, "snapshot:<> "},
		{"empty nested entries and responses written", &Message{Entries: []Entry{{}}, Responses: []Message{{}}},
			"entries:<> responses:<> "},
		{"empty repeated messages omitted", &Message{Entries: []Entry{}, Responses: []Message{}}, ""},
		{"nested values", &Message{Type: MsgApp, Entries: []Entry{{Term: 1}, {Index: 3, Data: []byte("d")}}},
			`type:MsgApp entries:<Term:1 > entries:<Index:3 Data:"d" > `},
		{"zero metadata omitted", &Snapshot{Data: []byte("s")}, `data:"s" `},
		{"metadata held by value written when not the zero value",
			&Snapshot{Metadata: SnapshotMetadata{Term: 1}}, "metadata:<term:1 > "},
		{"conf state with an empty non-nil slice is not the zero value",
			&SnapshotMetadata{ConfState: ConfState{Voters: []uint64{}}}, "conf_state:<> "},
		{"nested by value two levels",
			&Snapshot{Metadata: SnapshotMetadata{ConfState: ConfState{LearnersNext: []uint64{}}}}, "metadata:<conf_state:<> > "},
		{"snapshot in message",
			&Message{Snapshot: &Snapshot{Data: []byte("x"), Metadata: SnapshotMetadata{Index: 2,
				ConfState: ConfState{Voters: []uint64{1, 2}, AutoLeave: true}}}},
			`snapshot:<data:"x" metadata:<conf_state:<voters:1 voters:2 auto_leave:true > index:2 > > `},
		{"nested responses", &Message{Responses: []Message{{Responses: []Message{{Responses: []Message{{From: 2, Reject: true}}}}}}},
			"responses:<responses:<responses:<from:2 reject:true > > > "},
		{"changes", &ConfChangeV2{Transition: ConfChangeTransitionJointImplicit,
			Changes: []ConfChangeSingle{{}, {Type: ConfChangeAddLearnerNode, NodeID: 4}}, Context: []byte("c")},
			`transition:ConfChangeTransitionJointImplicit changes:<> changes:<type:ConfChangeAddLearnerNode node_id:4 > context:"c" `},
		{"enum without a name as its number", &ConfChange{Type: -3, ID: 1}, "type:-3 id:1 "},
		{"enum past the defined range", &Entry{Type: 7, Term: math.MaxUint64}, "Term:18446744073709551615 Type:7 "},
		{"enum int32 edges", &ConfChangeSingle{Type: math.MinInt32, NodeID: 1}, "type:-2147483648 node_id:1 "},
		{"message type by name", &Message{Type: MsgForgetLeader}, "type:MsgForgetLeader "},
		{"message type past the range", &Message{Type: MsgForgetLeader + 1}, "type:24 "},
		{"enum String", MsgStorageApplyResp, "MsgStorageApplyResp"},
		{"enum String without a name", ConfChangeTransition(-5), "-5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.v.String(); got != tc.want {
				t.Errorf("String: got %q, want %q", got, tc.want)
			}
			for _, verb := range []string{"%v", "%+v", "%s"} {
				if got := fmt.Sprintf(verb, tc.v); got != tc.want {
					t.Errorf("%s: got %q, want %q", verb, got, tc.want)
				}
			}
		})
	}
}

// TestStringGolden checks String and encoding/json against the table in
// testdata/textform.txt, which the compat module generates from etcd-raft
// v3.6.0's own output: each message is decoded from its wire encoding and
// must print as v3.6 printed the same bytes.
func TestStringGolden(t *testing.T) {
	f, err := os.Open("testdata/textform.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	newMessage := map[string]func() textFormer{
		"Entry":            func() textFormer { return new(Entry) },
		"SnapshotMetadata": func() textFormer { return new(SnapshotMetadata) },
		"Snapshot":         func() textFormer { return new(Snapshot) },
		"Message":          func() textFormer { return new(Message) },
		"HardState":        func() textFormer { return new(HardState) },
		"ConfState":        func() textFormer { return new(ConfState) },
		"ConfChange":       func() textFormer { return new(ConfChange) },
		"ConfChangeSingle": func() textFormer { return new(ConfChangeSingle) },
		"ConfChangeV2":     func() textFormer { return new(ConfChangeV2) },
	}
	enum := map[string]func(int32) fmt.Stringer{
		"MessageType":          func(v int32) fmt.Stringer { return MessageType(v) },
		"EntryType":            func(v int32) fmt.Stringer { return EntryType(v) },
		"ConfChangeType":       func(v int32) fmt.Stringer { return ConfChangeType(v) },
		"ConfChangeTransition": func(v int32) fmt.Stringer { return ConfChangeTransition(v) },
	}
	perType := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != 4 {
			t.Fatalf("line %d: got %d columns, want 4", line, len(cols))
		}
		typ, value, jsonWant := cols[0], cols[1], cols[3]
		stringWant, err := strconv.Unquote(cols[2])
		if err != nil {
			t.Fatalf("line %d: String column: %v", line, err)
		}
		var v fmt.Stringer
		if newM, ok := newMessage[typ]; ok {
			wire, err := hex.DecodeString(value)
			if err != nil {
				t.Fatalf("line %d: %v", line, err)
			}
			m := newM()
			if err := m.Unmarshal(wire); err != nil {
				t.Fatalf("line %d: decoding %s %s: %v", line, typ, value, err)
			}
			v = m
		} else if newE, ok := enum[typ]; ok {
			n, err := strconv.ParseInt(value, 10, 32)
			if err != nil {
				t.Fatalf("line %d: %v", line, err)
			}
			v = newE(int32(n))
		} else {
			t.Fatalf("line %d: unknown type %q", line, typ)
		}
		perType[typ]++
		if got := v.String(); got != stringWant {
			t.Errorf("line %d: %s String: got %q, want %q", line, typ, got, stringWant)
		}
		if got := fmt.Sprintf("%v", v); got != stringWant {
			t.Errorf("line %d: %s %%v: got %q, want %q", line, typ, got, stringWant)
		}
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("line %d: json.Marshal: %v", line, err)
		}
		if string(js) != jsonWant {
			t.Errorf("line %d: %s JSON: got %s, want %s", line, typ, js, jsonWant)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for typ := range newMessage {
		if perType[typ] == 0 {
			t.Errorf("testdata/textform.txt has no %s values", typ)
		}
	}
	for typ := range enum {
		if perType[typ] == 0 {
			t.Errorf("testdata/textform.txt has no %s values", typ)
		}
	}
}

// textFormer is a message type as TestStringGolden uses it.
type textFormer interface {
	fmt.Stringer
	Unmarshal([]byte) error
}

// BenchmarkMessageString measures String on a typical append message.
func BenchmarkMessageString(b *testing.B) {
	m := &Message{Type: MsgApp, To: 2, From: 1, Term: 3, LogTerm: 3, Index: 9, Commit: 9,
		Entries: []Entry{{Term: 3, Index: 10, Data: []byte("put x=1")}, {Term: 3, Index: 11, Data: []byte("put y=2")}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.String()
	}
}
