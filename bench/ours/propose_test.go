package suite

// Replication through RawNode: one op proposes a batch of entries at the
// leader and runs the group until every replica has applied them (the full
// commit cycle: append, MsgApp, acknowledgements, commit, the commit index
// carried to the followers, application everywhere).

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

// BenchmarkProposeCycle calls Propose batch times at the leader, then runs
// the Ready loop of every replica with messages delivered in-process. With
// batch=1 that is one proposal per Ready; with batch=256, 256 proposals
// gathered into one Ready.
func BenchmarkProposeCycle(b *testing.B) {
	benchProposeCycle(b, fullGrid, clusterOptions{ticks: liveTicks})
}

// BenchmarkProposeCycleWire is BenchmarkProposeCycle with every message
// marshalled and unmarshalled on its way, as over a transport.
func BenchmarkProposeCycleWire(b *testing.B) {
	benchProposeCycle(b, threeVoterGrid, clusterOptions{ticks: liveTicks, wire: true})
}

// BenchmarkProposeCycleAsync is BenchmarkProposeCycle with
// AsyncStorageWrites: the application performs the MsgStorageAppend and
// MsgStorageApply work each Ready hands out and steps their responses back.
func BenchmarkProposeCycleAsync(b *testing.B) {
	benchProposeCycle(b, axesGrid, clusterOptions{ticks: liveTicks, async: true})
}

func benchProposeCycle(b *testing.B, shapes []shape, opts clusterOptions) {
	for _, s := range shapes {
		b.Run(s.name(), func(b *testing.B) {
			c := newCluster(b, s.voters, opts)
			leader := c.leader()
			data := make([]byte, s.entry)
			from := leader.applied
			b.ReportAllocs()
			for b.Loop() {
				for range s.batch {
					if err := leader.rn.Propose(data); err != nil {
						b.Fatalf("Propose: %v", err)
					}
				}
				c.stabilize()
				c.maybeCompact()
			}
			c.checkProposed(from, b.N*s.batch)
		})
	}
}

// BenchmarkProposeMsgProp steps one MsgProp carrying batch entries into the
// leader, then runs the Ready loop as BenchmarkProposeCycle does. The
// message's entry slice is made afresh for each op, as a sender building the
// message would: the library may keep it.
func BenchmarkProposeMsgProp(b *testing.B) {
	for _, s := range axesGrid {
		b.Run(s.name(), func(b *testing.B) {
			c := newCluster(b, s.voters, clusterOptions{ticks: liveTicks})
			leader := c.leader()
			data := make([]byte, s.entry)
			from := leader.applied
			b.ReportAllocs()
			for b.Loop() {
				ents := make([]pb.Entry, s.batch)
				for i := range ents {
					ents[i].Data = data
				}
				if err := leader.rn.Step(pb.Message{Type: pb.MsgProp, From: leader.id, Entries: ents}); err != nil {
					b.Fatalf("Step(MsgProp): %v", err)
				}
				c.stabilize()
				c.maybeCompact()
			}
			c.checkProposed(from, b.N*s.batch)
		})
	}
}
