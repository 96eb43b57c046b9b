package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

// enumNames says, for the JSON document of each message type, which keys
// hold which enum: the names a document may use in place of the numbers.
var enumNames = map[string]map[string]map[int32]string{
	"Entry":            {"Type": pb.EntryType_name},
	"Message":          {"type": pb.MessageType_name, "Type": pb.EntryType_name},
	"ConfChange":       {"type": pb.ConfChangeType_name},
	"ConfChangeSingle": {"type": pb.ConfChangeType_name},
	"ConfChangeV2":     {"type": pb.ConfChangeType_name, "transition": pb.ConfChangeTransition_name},
}

// TestJSONMatchesV36 checks the JSON forms: encoding/json marshals every
// raftpb message type to the same bytes as v3.6 does for the same value, and
// decodes the same document - as marshalled, or with enum numbers replaced by
// names, well-formed or not - to the same value or the same error.
func TestJSONMatchesV36(t *testing.T) {
	n, seed := sweepSize(t)
	for _, k := range structKinds {
		t.Run(k.name, func(t *testing.T) {
			g := newTextGen(seed ^ 0x7a3)
			var c tally
			rejected := 0
			for i, v := range k.values(seed, n) {
				diffs, ok := jsonDiffs(t, k, g, i, v)
				c.add(diffs)
				if !ok {
					rejected++
				}
			}
			c.report(t, k.name+" JSON forms")
			t.Logf("%d of the %d documents decoded, %d rejected", c.values-rejected, c.values, rejected)
			// Documents with enum names of the wrong type are drawn for every
			// type with an enum; if none was rejected, the decoding half of
			// this test compared nothing but successes.
			if _, hasEnum := enumNames[k.name]; hasEnum && rejected == 0 {
				t.Errorf("no document was rejected by both libraries: the error path went unchecked")
			}
		})
	}
}

// jsonDiffs returns how the JSON forms of v (the i-th value) differ between
// the libraries, and whether our library decoded the document it drew.
func jsonDiffs(t *testing.T, k structKind, g *textGen, i int, v pbValue) (diffs []string, decoded bool) {
	t.Helper()
	same := etcdSame(t, v, k.newEtcd())
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("value %d: json.Marshal(%v): %v", i, v, err)
	}
	want, err := json.Marshal(same)
	if err != nil {
		t.Fatalf("value %d: json.Marshal of v3.6's %v: %v", i, same, err)
	}
	diffs = compare(diffs, fmt.Sprintf("value %d json.Marshal", i), string(got), string(want))

	doc := withEnumNames(t, g, got, enumNames[k.name])
	decodedOurs, decodedEtcd := k.newOurs(), k.newEtcd()
	errOurs, errEtcd := json.Unmarshal(doc, decodedOurs), json.Unmarshal(doc, decodedEtcd)
	diffs = compare(diffs, fmt.Sprintf("value %d json.Unmarshal(%s) error", i, doc), fmt.Sprint(errOurs), fmt.Sprint(errEtcd))
	if errOurs == nil && errEtcd == nil {
		wireOurs, err1 := decodedOurs.Marshal()
		wireEtcd, err2 := decodedEtcd.Marshal()
		if err1 != nil || err2 != nil {
			t.Fatalf("value %d: marshalling the decoded JSON: %v, %v", i, err1, err2)
		}
		diffs = compare(diffs, fmt.Sprintf("value %d json.Unmarshal(%s) wire bytes", i, doc),
			fmt.Sprintf("%x", wireOurs), fmt.Sprintf("%x", wireEtcd))
	}
	return diffs, errOurs == nil
}

// withEnumNames rewrites a JSON document: each enum number under one of the
// keys in names becomes, at random, its name (or, for an undefined value,
// its number as a string) or stays a number. In one document of four, an
// enum may also become a name of the wrong enum or a name with the wrong
// case.
func withEnumNames(t *testing.T, g *textGen, doc []byte, names map[string]map[int32]string) []byte {
	t.Helper()
	if len(names) == 0 {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	spoil := g.oneIn(4)
	var tree any
	if err := dec.Decode(&tree); err != nil {
		t.Fatalf("parsing %s: %v", doc, err)
	}
	var walk func(any)
	walk = func(node any) {
		switch node := node.(type) {
		case map[string]any:
			for key, val := range node {
				num, isNum := val.(json.Number)
				byName, isEnum := names[key]
				if !isNum || !isEnum {
					walk(val)
					continue
				}
				v, err := strconv.ParseInt(string(num), 10, 32)
				if err != nil {
					t.Fatalf("enum %s in %s is %s", key, doc, num)
				}
				switch r := g.rng.IntN(8); {
				case r < 4:
					if name, ok := byName[int32(v)]; ok {
						node[key] = name
					} else {
						node[key] = string(num)
					}
				case r == 4 && spoil:
					node[key] = "MsgSnap"
					if key == "type" && len(byName) == len(pb.MessageType_name) {
						node[key] = "ConfChangeAddNode"
					}
				case r == 5 && spoil:
					node[key] = "entrynormal"
				}
			}
		case []any:
			for _, val := range node {
				walk(val)
			}
		}
	}
	walk(tree)
	out, err := json.Marshal(tree)
	if err != nil {
		t.Fatalf("re-encoding %s: %v", doc, err)
	}
	return out
}

// TestEnumJSONMatchesV36 checks that every raftpb enum decodes the same JSON
// inputs to the same value or the same error as v3.6's, and that
// encoding/json encodes every value the same way.
func TestEnumJSONMatchesV36(t *testing.T) {
	n, seed := sweepSize(t)
	inputs := []string{
		`null`, `0`, `1`, `-1`, `23`, `24`, `2147483647`, `-2147483648`, `2147483648`, `-2147483649`,
		`1.5`, `1e2`, `true`, `{}`, `[]`, `""`, `"0"`, `"3"`, `"-1"`,
		`"MsgApp"`, `"msgapp"`, `" MsgApp"`, `"EntryNormal"`, `"EntryConfChangeV2"`,
		`"ConfChangeAddNode"`, `"ConfChangeAddLearnerNode"`, `"ConfChangeTransitionJointExplicit"`,
		`"Bogus"`, `"\u004dsgHup"`, `1 2`, `"MsgApp`,
	}
	for _, k := range enumKinds {
		for v := range k.defined {
			inputs = append(inputs, strconv.Quote(k.ours(v).(fmt.Stringer).String()))
		}
	}
	for _, k := range enumKinds {
		t.Run(k.name, func(t *testing.T) {
			var c tally
			for _, in := range inputs {
				o, e := k.ours(0), k.etcd(0)
				po, pe := ptrTo(o), ptrTo(e)
				errOurs, errEtcd := json.Unmarshal([]byte(in), po), json.Unmarshal([]byte(in), pe)
				var diffs []string
				diffs = compare(diffs, fmt.Sprintf("json.Unmarshal(%s) error", in), fmt.Sprint(errOurs), fmt.Sprint(errEtcd))
				diffs = compare(diffs, fmt.Sprintf("json.Unmarshal(%s) value", in), fmt.Sprint(reflect.ValueOf(po).Elem().Int()), fmt.Sprint(reflect.ValueOf(pe).Elem().Int()))
				c.add(diffs)
			}
			for _, v := range k.values(seed, n) {
				got, err1 := json.Marshal(k.ours(v))
				want, err2 := json.Marshal(k.etcd(v))
				if err1 != nil || err2 != nil {
					t.Fatalf("json.Marshal(%d): %v, %v", v, err1, err2)
				}
				c.add(compare(nil, fmt.Sprintf("json.Marshal(%d)", v), string(got), string(want)))
			}
			c.report(t, k.name+" JSON forms")
		})
	}
}

// ptrTo returns a pointer to a copy of the enum value v, as an any that
// json.Unmarshal can fill.
func ptrTo(v any) any {
	p := reflect.New(reflect.TypeOf(v))
	p.Elem().Set(reflect.ValueOf(v))
	return p.Interface()
}
