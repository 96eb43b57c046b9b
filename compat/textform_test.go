package compat

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// TestStringMatchesV36 checks that String of every raftpb message type, and
// fmt's %v, %+v and %s of a pointer to it (which go through String), print
// exactly what etcd-raft v3.6.0 prints for the same value: the value copied
// field by field into v3.6's type, and the value after a trip through the
// wire encoding into each library. Where the value holds no pointer, fmt's
// struct forms (%v and %+v of the value itself, whose enum fields go
// through String) are compared too.
func TestStringMatchesV36(t *testing.T) {
	n, seed := sweepSize(t)
	for _, k := range structKinds {
		t.Run(k.name, func(t *testing.T) {
			var c tally
			for i, v := range k.values(seed, n) {
				c.add(stringDiffs(t, k, i, v))
			}
			c.report(t, k.name+" text forms")
		})
	}
}

// stringDiffs returns how the text forms of v (the i-th value) differ
// between the libraries.
func stringDiffs(t *testing.T, k structKind, i int, v pbValue) []string {
	t.Helper()
	same := etcdSame(t, v, k.newEtcd())
	var diffs []string
	diffs = compare(diffs, fmt.Sprintf("value %d String", i), v.String(), same.String())
	for _, verb := range []string{"%v", "%+v", "%s"} {
		diffs = compare(diffs, fmt.Sprintf("value %d %s", i, verb), fmt.Sprintf(verb, v), fmt.Sprintf(verb, same))
	}
	if !holdsPointer(reflect.ValueOf(v).Elem()) {
		ov, ev := reflect.ValueOf(v).Elem().Interface(), reflect.ValueOf(same).Elem().Interface()
		for _, verb := range []string{"%v", "%+v"} {
			diffs = compare(diffs, fmt.Sprintf("value %d %s of the struct", i, verb), fmt.Sprintf(verb, ov), fmt.Sprintf(verb, ev))
		}
	}

	decodedOurs, decodedEtcd := k.newOurs(), k.newEtcd()
	if err := Recode(decodedOurs, v); err != nil {
		t.Fatalf("value %d: re-decoding %v in our types: %v", i, v, err)
	}
	if err := Recode(decodedEtcd, v); err != nil {
		t.Fatalf("value %d: decoding %v in v3.6's types: %v", i, v, err)
	}
	return compare(diffs, fmt.Sprintf("value %d String after decoding", i), decodedOurs.String(), decodedEtcd.String())
}

// TestEnumStringMatchesV36 checks String of every raftpb enum, and fmt's %v,
// %+v and %s, on every defined value, values just outside the range on both
// sides, the int32 edges and random int32s.
func TestEnumStringMatchesV36(t *testing.T) {
	n, seed := sweepSize(t)
	for _, k := range enumKinds {
		t.Run(k.name, func(t *testing.T) {
			var c tally
			for _, v := range k.values(seed, n) {
				o, e := k.ours(v), k.etcd(v)
				var diffs []string
				diffs = compare(diffs, fmt.Sprintf("%d String", v), o.(fmt.Stringer).String(), e.(fmt.Stringer).String())
				for _, verb := range []string{"%v", "%+v", "%s"} {
					diffs = compare(diffs, fmt.Sprintf("%d %s", v, verb), fmt.Sprintf(verb, o), fmt.Sprintf(verb, e))
				}
				c.add(diffs)
			}
			c.report(t, k.name+" text forms")
		})
	}
}

// textMethods are the methods through which fmt, encoding/json and
// encoding (text) render or parse a value.
var textMethods = []string{
	"String", "GoString", "Format",
	"MarshalJSON", "UnmarshalJSON", "MarshalText", "UnmarshalText", "AppendText",
}

// TestTextMethodsMatchV36 checks that each raftpb type and enum, and the
// pointer to it, has the same text-rendering methods in both libraries, so
// that fmt and encoding/json take the same path for both.
func TestTextMethodsMatchV36(t *testing.T) {
	pairs := map[string][2]reflect.Type{}
	for _, k := range structKinds {
		pairs[k.name] = [2]reflect.Type{reflect.TypeOf(k.newOurs()).Elem(), reflect.TypeOf(k.newEtcd()).Elem()}
	}
	for _, k := range enumKinds {
		pairs[k.name] = [2]reflect.Type{reflect.TypeOf(k.ours(0)), reflect.TypeOf(k.etcd(0))}
	}
	for name, p := range pairs {
		t.Run(name, func(t *testing.T) {
			for _, pointer := range []bool{false, true} {
				o, e := p[0], p[1]
				if pointer {
					o, e = reflect.PointerTo(o), reflect.PointerTo(e)
				}
				if got, want := methodsOf(o), methodsOf(e); !slices.Equal(got, want) {
					t.Errorf("text methods of %v: got %v, want %v (those of %v)", o, got, want, e)
				}
			}
		})
	}
}

func methodsOf(typ reflect.Type) []string {
	var out []string
	for _, name := range textMethods {
		if _, ok := typ.MethodByName(name); ok {
			out = append(out, name)
		}
	}
	return out
}

// TestNilStringMatchesV36 checks String and fmt's %v on a nil pointer to
// every raftpb message type.
func TestNilStringMatchesV36(t *testing.T) {
	for _, k := range structKinds {
		t.Run(k.name, func(t *testing.T) {
			o := reflect.Zero(reflect.TypeOf(k.newOurs())).Interface().(pbValue)
			e := reflect.Zero(reflect.TypeOf(k.newEtcd())).Interface().(pbValue)
			if got, want := o.String(), e.String(); got != want {
				t.Errorf("String of a nil %T: got %q, want %q", o, got, want)
			}
			if got, want := fmt.Sprintf("%v", o), fmt.Sprintf("%v", e); got != want {
				t.Errorf("%%v of a nil %T: got %q, want %q", o, got, want)
			}
		})
	}
}
