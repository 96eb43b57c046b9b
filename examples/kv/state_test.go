package main

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

func TestCommandEncoding(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		for _, c := range []command{
			{ID: 1, Op: opPut, Key: "k", Value: "v"},
			{ID: 2, Op: opPut, Key: "k"},
			{ID: 3, Op: opDelete, Key: "k/with/slashes"},
		} {
			data, err := encodeCommand(c)
			if err != nil {
				t.Fatalf("encodeCommand(%+v): %v", c, err)
			}
			got, err := decodeCommand(data)
			if err != nil || got != c {
				t.Errorf("decodeCommand(encodeCommand(%+v)) = %+v, %v; want it back", c, got, err)
			}
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for name, c := range map[string]command{
			"no ID":              {Op: opPut, Key: "k"},
			"no key":             {ID: 1, Op: opPut},
			"unknown op":         {ID: 1, Op: "append", Key: "k"},
			"delete with value":  {ID: 1, Op: opDelete, Key: "k", Value: "v"},
			"zero value command": {},
		} {
			if _, err := encodeCommand(c); err == nil {
				t.Errorf("%s: encodeCommand(%+v) succeeded, want an error", name, c)
			}
		}
		for _, data := range []string{"", "{", "[]", `{"id":1,"op":"put"}`, `{"id":0,"op":"put","key":"k"}`} {
			if c, err := decodeCommand([]byte(data)); err == nil {
				t.Errorf("decodeCommand(%q) = %+v, want an error", data, c)
			}
		}
	})
}

func TestKVStateApply(t *testing.T) {
	s := newKVState()
	for _, c := range []command{
		{ID: 1, Op: opPut, Key: "a", Value: "1"},
		{ID: 2, Op: opPut, Key: "b", Value: "2"},
		{ID: 3, Op: opDelete, Key: "a"},
		{ID: 4, Op: opPut, Key: "b", Value: "3"},
	} {
		if !s.apply(c) {
			t.Fatalf("apply(%+v) = false, want true for a new ID", c)
		}
	}
	if v, ok := s.get("a"); ok {
		t.Errorf("get(a) = %q, true; want it deleted", v)
	}
	if v, ok := s.get("b"); !ok || v != "3" {
		t.Errorf("get(b) = %q, %v; want 3, true", v, ok)
	}
	t.Run("a retried copy is skipped", func(t *testing.T) {
		if s.apply(command{ID: 2, Op: opPut, Key: "b", Value: "2"}) {
			t.Errorf("apply of ID 2 again = true, want false")
		}
		if v, _ := s.get("b"); v != "3" {
			t.Errorf("get(b) after the retried copy = %q, want 3", v)
		}
	})
}

func TestKVStateDedupWindow(t *testing.T) {
	s := newKVState()
	for id := uint64(1); id <= dedupWindow+10; id++ {
		s.apply(command{ID: id, Op: opPut, Key: "k", Value: fmt.Sprint(id)})
	}
	if got := len(s.recent); got != dedupWindow {
		t.Errorf("remembers %d IDs, want %d", got, dedupWindow)
	}
	if got, want := s.recent[0], uint64(11); got != want {
		t.Errorf("oldest remembered ID is %d, want %d", got, want)
	}
	// Beyond the window a copy is applied again: the window is the
	// documented limit of deduplication.
	if !s.apply(command{ID: 10, Op: opPut, Key: "k", Value: "old"}) {
		t.Errorf("apply of an ID that left the window = false, want true")
	}
	if s.apply(command{ID: 11 + 1, Op: opPut, Key: "k", Value: "old"}) {
		t.Errorf("apply of an ID inside the window = true, want false")
	}
	if len(s.seen) != len(s.recent) {
		t.Errorf("seen holds %d IDs, recent %d; want the same", len(s.seen), len(s.recent))
	}
}

func TestKVStateConfChange(t *testing.T) {
	s := newKVState()
	s.applyConfChange(changeContext{Addrs: map[uint64]string{1: "h:1"}}, pb.ConfState{Voters: []uint64{1}})
	s.applyConfChange(changeContext{Addrs: map[uint64]string{2: "h:2"}}, pb.ConfState{Voters: []uint64{1, 2}})
	s.applyConfChange(changeContext{ID: 7, Addrs: map[uint64]string{4: "h:4"}}, pb.ConfState{Voters: []uint64{1, 2}, Learners: []uint64{4}})
	want := map[uint64]string{1: "h:1", 2: "h:2", 4: "h:4"}
	if !maps.Equal(s.members, want) {
		t.Fatalf("members = %v, want %v", s.members, want)
	}
	t.Run("joint configuration keeps the outgoing voters", func(t *testing.T) {
		s.applyConfChange(changeContext{}, pb.ConfState{Voters: []uint64{2, 4}, VotersOutgoing: []uint64{1, 2}})
		if !maps.Equal(s.members, want) {
			t.Errorf("members = %v, want %v", s.members, want)
		}
	})
	t.Run("leaving it drops the removed node", func(t *testing.T) {
		s.applyConfChange(changeContext{}, pb.ConfState{Voters: []uint64{2, 4}})
		if want := map[uint64]string{2: "h:2", 4: "h:4"}; !maps.Equal(s.members, want) {
			t.Errorf("members = %v, want %v", s.members, want)
		}
	})
	t.Run("an address for a node not in the configuration is ignored", func(t *testing.T) {
		s.applyConfChange(changeContext{Addrs: map[uint64]string{9: "h:9"}}, pb.ConfState{Voters: []uint64{2, 4}})
		if _, ok := s.members[9]; ok {
			t.Errorf("members = %v, want no node 9", s.members)
		}
	})
}

func TestChangeContextEncoding(t *testing.T) {
	in := changeContext{ID: 42, Addrs: map[uint64]string{4: "127.0.0.1:7004"}}
	data, err := encodeChangeContext(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeChangeContext(data)
	if err != nil || got.ID != in.ID || !maps.Equal(got.Addrs, in.Addrs) {
		t.Errorf("decodeChangeContext(encodeChangeContext(%+v)) = %+v, %v", in, got, err)
	}
	if got, err := decodeChangeContext(nil); err != nil || got.ID != 0 || got.Addrs != nil {
		t.Errorf("decodeChangeContext(nil) = %+v, %v; want the zero context", got, err)
	}
	if _, err := decodeChangeContext([]byte("127.0.0.1:7004")); err == nil {
		t.Errorf("decodeChangeContext of a bare address succeeded, want an error")
	}
}

func TestKVStateSnapshot(t *testing.T) {
	s := newKVState()
	s.apply(command{ID: 5, Op: opPut, Key: "x", Value: "1"})
	s.apply(command{ID: 6, Op: opPut, Key: "y", Value: ""})
	s.applyConfChange(changeContext{Addrs: map[uint64]string{1: "h:1"}}, pb.ConfState{Voters: []uint64{1}})
	data, err := s.marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := unmarshalKVState(data)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.data, s.data) || !maps.Equal(got.members, s.members) || !slices.Equal(got.recent, s.recent) {
		t.Errorf("restored %+v, want %+v", got, s)
	}
	if got.apply(command{ID: 5, Op: opPut, Key: "x", Value: "again"}) {
		t.Errorf("a restored state applied a copy of request 5, want it skipped")
	}

	t.Run("malformed", func(t *testing.T) {
		for name, data := range map[string]string{
			"not JSON":     "snapshot",
			"repeated IDs": `{"data":{},"members":{},"recent":[1,1]}`,
			"wrong types":  `{"data":[1,2]}`,
			"too many IDs": fmt.Sprintf(`{"recent":[%s]}`, idList(dedupWindow+1)),
		} {
			if _, err := unmarshalKVState([]byte(data)); err == nil {
				t.Errorf("%s: unmarshalKVState succeeded, want an error", name)
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		got, err := unmarshalKVState([]byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		// A restored state must be usable: its maps exist.
		got.apply(command{ID: 1, Op: opPut, Key: "k", Value: "v"})
		got.applyConfChange(changeContext{Addrs: map[uint64]string{1: "h:1"}}, pb.ConfState{Voters: []uint64{1}})
		if v, _ := got.get("k"); v != "v" || got.members[1] != "h:1" {
			t.Errorf("after applying to a state restored from {}: k=%q, members %v", v, got.members)
		}
	})
}

func idList(n int) string {
	b := make([]byte, 0, 6*n)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b = append(b, ',')
		}
		b = fmt.Append(b, i)
	}
	return string(b)
}
