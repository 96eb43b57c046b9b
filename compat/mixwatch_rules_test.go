package compat

import (
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/rafttest/sim"
)

// scriptedPeer is a stand-in for a peer of either library in the watch's
// own test: it reports the status it is given and hands out the Readies
// queued on it. The watch calls no other method in that test.
type scriptedPeer struct {
	sim.Peer
	status  raft.BasicStatus
	readies []raft.Ready
}

func (p *scriptedPeer) BasicStatus() raft.BasicStatus { return p.status }
func (p *scriptedPeer) ReadIndex([]byte)              {}
func (p *scriptedPeer) Step(pb.Message) error         { return nil }
func (p *scriptedPeer) HasReady() bool                { return len(p.readies) > 0 }
func (p *scriptedPeer) Ready() raft.Ready {
	rd := p.readies[0]
	p.readies = p.readies[1:]
	return rd
}

// TestWatchKeepsOnlyKnownFlawsFromTheOracles checks the watch's rules on
// scripted peers: a ReadState our node hands out goes to the oracles
// unless an etcd-raft leader fixed its index in a known-flawed way (and a
// second answer to the same call by our node is a failure even then); an
// etcd-raft node's answers to a retried context, and its second answers,
// are kept from them and checked by the watch.
func TestWatchKeepsOnlyKnownFlawsFromTheOracles(t *testing.T) {
	libs := [sim.MaxNodes + 1]library{1: ours, 2: etcd36}
	newWatch := func(lease bool) (*runWatch, [3]*scriptedPeer, [3]*watchedPeer) {
		w := newRunWatch(lease, func(id uint64) library { return libs[id] }, nil)
		var inner [3]*scriptedPeer
		var outer [3]*watchedPeer
		for id := uint64(1); id <= 2; id++ {
			inner[id] = &scriptedPeer{status: raft.BasicStatus{ID: id}}
			outer[id] = &watchedPeer{w: w, id: id, lib: libs[id], inner: inner[id]}
			w.nodes[id].lib, w.nodes[id].peer = libs[id], outer[id]
		}
		return w, inner, outer
	}
	readStates := func(p *watchedPeer, in *scriptedPeer, rss ...raft.ReadState) int {
		in.readies = append(in.readies, raft.Ready{ReadStates: rss})
		return len(p.Ready().ReadStates)
	}
	rs := func(ctx string, index uint64) raft.ReadState {
		return raft.ReadState{Index: index, RequestCtx: []byte(ctx)}
	}

	t.Run("ours, fixed by ours, stale, retried and repeated", func(t *testing.T) {
		w, in, p := newWatch(true)
		w.maxApplied = 10
		p[1].ReadIndex([]byte("a"))
		p[1].ReadIndex([]byte("a"))
		if got := readStates(p[1], in[1], rs("a", 3), rs("a", 4)); got != 2 {
			t.Errorf("got %d ReadStates shown to the oracles, want 2", got)
		}
		if got := w.stats.passed[ours][ours]; got != 2 {
			t.Errorf("got %d counted as checked, want 2", got)
		}
	})
	t.Run("ours, fixed by an etcd-raft lease", func(t *testing.T) {
		w, in, p := newWatch(true)
		p[1].ReadIndex([]byte("a"))
		fwd := pb.Message{Type: pb.MsgReadIndex, From: 1, To: 2, Entries: []pb.Entry{{Data: []byte("a"), Index: 77}}}
		in[1].readies = append(in[1].readies, raft.Ready{Messages: []pb.Message{fwd}})
		p[1].Ready()
		resp := pb.Message{Type: pb.MsgReadIndexResp, From: 2, To: 1, Index: 5, Entries: fwd.Entries}
		in[2].readies = append(in[2].readies, raft.Ready{Messages: []pb.Message{resp}})
		p[2].Ready()
		stale := resp
		stale.Entries = []pb.Entry{{Data: []byte("a"), Index: 76}}
		stale.Index = 4
		for _, m := range []pb.Message{stale, resp} {
			if err := p[1].Step(m); err != nil {
				t.Fatal(err)
			}
		}
		if got := readStates(p[1], in[1], rs("a", 5)); got != 0 {
			t.Errorf("got %d ReadStates shown to the oracles for the lease answer, want 0", got)
		}
		if got := w.stats.exempt[classEtcdLease].reads; got != 1 {
			t.Errorf("got %d lease reads kept from the oracles, want 1", got)
		}
		if got := readStates(p[1], in[1], rs("a", 4)); got != 1 {
			t.Errorf("got %d ReadStates shown to the oracles for an answer to an earlier attempt, want 1", got)
		}
		if got := readStates(p[1], in[1], rs("a", 5)); got != 1 {
			t.Errorf("got %d ReadStates shown to the oracles for a second answer, want 1", got)
		}
		if len(w.failures) != 0 {
			t.Errorf("got failures %v, want none (the oracles see the repeats)", w.failures)
		}
	})
	t.Run("ours, answering twice behind an etcd-raft lease", func(t *testing.T) {
		w, in, p := newWatch(true)
		p[1].ReadIndex([]byte("a"))
		rec := w.nodes[1].reads["a"]
		rec.accepted = map[uint64]decider{5: {id: 2, lib: etcd36}, 6: {id: 2, lib: etcd36}}
		if got := readStates(p[1], in[1], rs("a", 5), rs("a", 6)); got != 0 {
			t.Errorf("got %d ReadStates shown to the oracles, want 0", got)
		}
		if len(w.failures) != 1 {
			t.Errorf("got failures %v, want one for the second answer", w.failures)
		}
	})
	t.Run("etcd-raft, retried context", func(t *testing.T) {
		w, in, p := newWatch(false)
		w.maxApplied = 10
		p[2].ReadIndex([]byte("b"))
		w.maxApplied = 12
		p[2].ReadIndex([]byte("b"))
		if got := readStates(p[2], in[2], rs("b", 11)); got != 0 {
			t.Errorf("got %d ReadStates shown to the oracles, want 0", got)
		}
		if got, want := w.stats.exempt[classEtcdRetry], (exemptCount{reads: 1, stale: 1}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("etcd-raft, second answer", func(t *testing.T) {
		w, in, p := newWatch(false)
		p[2].ReadIndex([]byte("c"))
		if got := readStates(p[2], in[2], rs("c", 3), rs("c", 3)); got != 1 {
			t.Errorf("got %d ReadStates shown to the oracles, want the first only", got)
		}
		if got, want := w.stats.exempt[classEtcdDouble], (exemptCount{reads: 1, double: 1}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("etcd-raft, a context of an earlier incarnation", func(t *testing.T) {
		w, in, p := newWatch(false)
		p[2].ReadIndex([]byte("d"))
		// The node restarts: a new incarnation, which never issued "d".
		again := &watchedPeer{w: w, id: 2, lib: etcd36, inner: in[2]}
		w.nodes[2].peer = again
		if got := readStates(again, in[2], rs("d", 4)); got != 0 {
			t.Errorf("got %d ReadStates shown to the oracles, want 0", got)
		}
		if got, want := w.stats.exempt[classEtcdEarlier], (exemptCount{reads: 1}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		t.Run("but not one of ours", func(t *testing.T) {
			p[1].ReadIndex([]byte("e"))
			ours := &watchedPeer{w: w, id: 1, lib: libs[1], inner: in[1]}
			w.nodes[1].peer = ours
			if got := readStates(ours, in[1], rs("e", 4)); got != 1 {
				t.Errorf("got %d ReadStates shown to the oracles, want 1", got)
			}
		})
	})
}
