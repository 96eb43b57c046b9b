package raft

// A randomized check of what RawNode.Advance steps back in without
// AsyncStorageWrites (advanceAcks): three peers driven by an application
// that takes Readies without advancing, persists and applies them late and
// in order, advances only once all it took is done (or with nothing taken
// at all), and meanwhile proposes, campaigns, ticks, reads, compacts and
// moves leadership, while the network reorders and drops messages. Every
// Ready is checked against the contract (entries applied once, in order,
// never past the commit index, never before a quorum persisted them) and,
// after a final round with a healed network, every peer must have applied
// everything committed and have nothing left for Advance.
//
// Each seed's run is also folded into a digest of every Ready and every
// answer the peers gave, logged with -acks.digest -v, so that two builds of the library
// can be compared run by run (see acksDigestFlag).

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"hash"
	"math/rand/v2"
	"slices"
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

var (
	acksSeedsFlag  = flag.Int("acks.seeds", 200, "seeds run by TestAdvanceAcksRandomized")
	acksDigestFlag = flag.Bool("acks.digest", false, "log the digest of every seed's run of TestAdvanceAcksRandomized")
)

// ackPeer is one peer of ackCluster and what its application did.
type ackPeer struct {
	rn *RawNode
	st *MemoryStorage
	// taken are the Readies taken but not yet persisted, applied and sent,
	// oldest first. Advance is called only when it is empty.
	taken []Ready
	// applied is the index of the last entry applied (or snapshot
	// persisted).
	applied uint64
	// advances counts Readies handled since the last Advance.
	advances int
	// readyTerm is the term of the first Ready taken since the last
	// Advance.
	readyTerm uint64
}

// ackCluster drives three peers as described at the top of this file.
type ackCluster struct {
	t     *testing.T
	rng   *rand.Rand
	peers map[uint64]*ackPeer
	ids   []uint64
	// net holds the messages sent and not yet delivered, encoded as a
	// transport would.
	net [][]byte
	// appliedAt is what any peer applied at an index: every peer must
	// apply the same (State Machine Safety, paper 5.4.3).
	appliedAt map[uint64]pb.Entry
	// isolated, if not None, is a peer whose messages, to and from it,
	// are lost.
	isolated uint64
	// proposed counts proposals, for unique payloads.
	proposed int
	digest   hash.Hash
	seen     *ackCoverage
}

// ackCoverage counts the situations the randomized test is meant to
// reach, over all its seeds, so that it fails if it stops reaching them.
type ackCoverage struct {
	// heldReadies counts Readies taken while an earlier one was not
	// advanced yet.
	heldReadies int
	// heldWithSelfMsgs counts those taken while the peer had messages to
	// itself pending (its votes), which take the rare path.
	heldWithSelfMsgs int
	// snapshots counts Readies carrying a snapshot.
	snapshots int
	// emptyAdvances counts Advances called with no Ready taken since the
	// last.
	emptyAdvances int
	// termChanges counts Readies taken in a later term than an earlier
	// Ready not advanced yet.
	termChanges int
	// callerProposals counts proposals stepped with the caller's entries
	// that a leader accepted; forwarded counts MsgProp delivered between
	// peers.
	callerProposals, forwarded int
}

func newAckCluster(t *testing.T, seed uint64, seen *ackCoverage) *ackCluster {
	c := &ackCluster{
		t: t, rng: rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1)),
		peers: map[uint64]*ackPeer{}, ids: []uint64{1, 2, 3},
		appliedAt: map[uint64]pb.Entry{}, digest: sha256.New(), seen: seen,
	}
	for _, id := range c.ids {
		st := newConfStorage(c.ids)
		rn, err := NewRawNode(newTestConfig(id, st, func(cfg *Config) {
			cfg.PreVote = seed%2 == 0
			cfg.CheckQuorum = seed%3 == 0
			if seed%5 == 0 {
				cfg.ReadOnlyOption = ReadOnlyLeaseBased
				cfg.CheckQuorum = true
			}
			if seed%4 == 1 {
				// Small messages and Readies: partial appends and
				// committed entries spread over several Readies.
				cfg.MaxSizePerMsg = 64
				cfg.MaxCommittedSizePerReady = 64
			}
		}))
		if err != nil {
			t.Fatalf("NewRawNode(%d): got error %v, want none", id, err)
		}
		c.peers[id] = &ackPeer{rn: rn, st: st}
	}
	return c
}

// note folds what the peers did into the digest.
func (c *ackCluster) note(format string, args ...any) {
	fmt.Fprintf(c.digest, format, args...)
	c.digest.Write([]byte{'\n'})
}

// noteReady folds a Ready into the digest, its messages as they are
// encoded.
func (c *ackCluster) noteReady(id uint64, rd *Ready) {
	c.note("ready %d soft=%v hard=%v snap=%v mustSync=%v fault=%v", id, rd.SoftState, rd.HardState, rd.Snapshot.Metadata, rd.MustSync, rd.Fault)
	for _, e := range rd.Entries {
		c.note("  ent %d/%d %v %q", e.Term, e.Index, e.Type, e.Data)
	}
	for _, e := range rd.CommittedEntries {
		c.note("  committed %d/%d %v %q", e.Term, e.Index, e.Type, e.Data)
	}
	for _, m := range rd.Messages {
		b, err := m.Marshal()
		if err != nil {
			c.t.Fatalf("peer %d: encoding %v: got error %v, want none", id, m.Type, err)
		}
		c.digest.Write(b)
		c.note("  msg %v", m.Type)
	}
	for _, rs := range rd.ReadStates {
		c.note("  read %d %q", rs.Index, rs.RequestCtx)
	}
	for _, dr := range rd.DroppedReads {
		c.note("  dropped read %q %v", dr.RequestCtx, dr.Reason)
	}
}

// noteStatus folds a peer's basic status and what Advance holds into the
// digest.
func (c *ackCluster) noteStatus(id uint64) {
	p := c.peers[id]
	bs := p.rn.BasicStatus()
	c.note("status %d %+v pending=%v", id, bs, p.rn.acks.pending())
}

// takeReady takes a Ready from peer id, checks what the application may
// rely on at once, and keeps it for processing later.
func (c *ackCluster) takeReady(id uint64) {
	p := c.peers[id]
	if !p.rn.HasReady() {
		return
	}
	selfMsgs := len(p.rn.raft.out.afterAppend) > 0
	rd := p.rn.Ready()
	c.noteReady(id, &rd)
	if p.advances > 0 || len(p.taken) > 0 {
		c.seen.heldReadies++
		if selfMsgs {
			c.seen.heldWithSelfMsgs++
		}
		if p.readyTerm != 0 && p.rn.raft.term > p.readyTerm {
			c.seen.termChanges++
		}
	} else {
		p.readyTerm = p.rn.raft.term
	}
	if !IsEmptySnap(rd.Snapshot) {
		c.seen.snapshots++
	}
	for _, m := range rd.Messages {
		if m.To == id {
			c.t.Fatalf("peer %d: got %v to itself in a Ready, want messages to itself stepped on Advance", id, m.Type)
		}
	}
	c.checkQuorumPersisted(id, rd.HardState.Commit)
	p.taken = append(p.taken, rd)
}

// checkQuorumPersisted checks that the commit index commit, reported by
// peer id, is persisted by a quorum (paper 5.3: an entry is committed once
// replicated on a majority; without AsyncStorageWrites a peer's own entries
// count only once the Ready holding them was persisted, which Advance
// follows).
func (c *ackCluster) checkQuorumPersisted(id, commit uint64) {
	if commit == 0 {
		return
	}
	term, err := c.peers[id].rn.raft.log.term(commit)
	if err != nil {
		// Compacted here: applied, so checked when it was committed.
		return
	}
	held := 0
	for _, other := range c.ids {
		st := c.peers[other].st
		first, _ := st.FirstIndex()
		if first-1 >= commit {
			held++
			continue
		}
		if got, err := st.Term(commit); err == nil && got == term {
			held++
		}
	}
	if held < 2 {
		c.t.Fatalf("peer %d: got commit index %d (term %d) persisted by %d peers, want a quorum of 2", id, commit, term, held)
	}
}

// process persists, applies and sends the oldest Ready peer id took.
func (c *ackCluster) process(id uint64) {
	p := c.peers[id]
	if len(p.taken) == 0 {
		return
	}
	rd := p.taken[0]
	p.taken = p.taken[1:]
	if !IsEmptySnap(rd.Snapshot) {
		if err := p.st.ApplySnapshot(rd.Snapshot); err != nil {
			c.t.Fatalf("peer %d: persisting snapshot %v: got error %v, want none", id, rd.Snapshot.Metadata, err)
		}
		p.applied = rd.Snapshot.Metadata.Index
	}
	if err := p.st.Append(rd.Entries); err != nil {
		c.t.Fatalf("peer %d: persisting %d entries: got error %v, want none", id, len(rd.Entries), err)
	}
	if !IsEmptyHardState(rd.HardState) {
		if err := p.st.SetHardState(rd.HardState); err != nil {
			c.t.Fatalf("peer %d: persisting %v: got error %v, want none", id, rd.HardState, err)
		}
	}
	hs, _, _ := p.st.InitialState()
	for _, e := range rd.CommittedEntries {
		if e.Index != p.applied+1 {
			c.t.Fatalf("peer %d: got entry %d to apply after %d, want %d", id, e.Index, p.applied, p.applied+1)
		}
		if e.Index > hs.Commit {
			c.t.Fatalf("peer %d: got entry %d to apply, want none past the persisted commit index %d", id, e.Index, hs.Commit)
		}
		if term, err := p.st.Term(e.Index); err != nil || term != e.Term {
			c.t.Fatalf("peer %d: applying %d/%d: got term %d (error %v) in storage, want it persisted", id, e.Term, e.Index, term, err)
		}
		if prev, ok := c.appliedAt[e.Index]; ok {
			if prev.Term != e.Term || string(prev.Data) != string(e.Data) {
				c.t.Fatalf("peer %d: got %d/%d %q applied at %d, want %d/%d %q as another peer applied", id, e.Term, e.Index, e.Data, e.Index, prev.Term, prev.Index, prev.Data)
			}
		} else {
			c.appliedAt[e.Index] = pb.Entry{Term: e.Term, Index: e.Index, Data: slices.Clone(e.Data)}
		}
		p.applied = e.Index
	}
	for _, m := range rd.Messages {
		b, err := m.Marshal()
		if err != nil {
			c.t.Fatalf("peer %d: encoding %v: got error %v, want none", id, m.Type, err)
		}
		c.net = append(c.net, b)
	}
	p.advances++
}

// advance calls Advance on peer id if it has handled every Ready it took.
func (c *ackCluster) advance(id uint64) {
	p := c.peers[id]
	if len(p.taken) != 0 {
		return
	}
	if p.advances == 0 {
		c.seen.emptyAdvances++
	}
	p.rn.Advance(Ready{})
	p.advances, p.readyTerm = 0, 0
	c.noteStatus(id)
}

// deliver delivers the message at position i of the network, or drops it.
func (c *ackCluster) deliver(i int, drop bool) {
	b := c.net[i]
	c.net = slices.Delete(c.net, i, i+1)
	var m pb.Message
	if err := m.Unmarshal(b); err != nil {
		c.t.Fatalf("decoding a message: got error %v, want none", err)
	}
	from, to := c.peers[m.From], c.peers[m.To]
	if drop || c.isolated == m.From || c.isolated == m.To {
		c.note("drop %v %d->%d", m.Type, m.From, m.To)
		if m.Type == pb.MsgSnap {
			from.rn.ReportSnapshot(m.To, SnapshotFailure)
		}
		return
	}
	if m.Type == pb.MsgProp {
		c.seen.forwarded++
	}
	err := to.rn.Step(m)
	c.note("step %v %d->%d: %v", m.Type, m.From, m.To, err)
	if err != nil && !errors.Is(err, ErrProposalDropped) {
		c.t.Fatalf("peer %d: stepping %v from %d: got error %v, want none or ErrProposalDropped", m.To, m.Type, m.From, err)
	}
	if m.Type == pb.MsgSnap {
		from.rn.ReportSnapshot(m.To, SnapshotFinish)
	}
}

// propose proposes on peer id, through Propose or by stepping a MsgProp
// whose entries the test owns, which it then overwrites: the peer must
// have kept copies of them, not the caller's array.
func (c *ackCluster) propose(id uint64) {
	p := c.peers[id]
	c.proposed++
	data := fmt.Sprintf("p%d", c.proposed)
	if c.rng.IntN(2) == 0 {
		err := p.rn.Propose([]byte(data))
		c.note("propose %d %s: %v", id, data, err)
		return
	}
	n := 1 + c.rng.IntN(3)
	ents := make([]pb.Entry, n)
	for i := range ents {
		ents[i].Data = fmt.Appendf(nil, "%s.%d", data, i)
	}
	err := p.rn.Step(pb.Message{Type: pb.MsgProp, From: id, Entries: ents})
	c.note("step proposal %d %s: %v", id, data, err)
	if err == nil && p.rn.raft.state == StateLeader {
		c.seen.callerProposals++
	}
	for i, e := range ents {
		if want := fmt.Sprintf("%s.%d", data, i); string(e.Data) != want || e.Type != pb.EntryNormal {
			c.t.Fatalf("peer %d: got the caller's entry %d as %v %q after Step, want %v %q", id, i, e.Type, e.Data, pb.EntryNormal, want)
		}
		// NB: as in v3.6, a leader numbers the caller's entries in place.
		c.note("  caller's entry %d/%d", e.Term, e.Index)
		ents[i] = pb.Entry{Term: 99, Index: 99, Data: []byte("overwritten")}
	}
}

// compact snapshots and compacts peer id's storage at what it applied, so
// that a lagging peer needs a snapshot.
func (c *ackCluster) compact(id uint64) {
	p := c.peers[id]
	first, _ := p.st.FirstIndex()
	if p.applied < first+1 {
		return
	}
	cs := pb.ConfState{Voters: c.ids}
	if _, err := p.st.CreateSnapshot(p.applied, &cs, nil); err != nil {
		c.t.Fatalf("peer %d: snapshot at %d: got error %v, want none", id, p.applied, err)
	}
	if err := p.st.Compact(p.applied); err != nil {
		c.t.Fatalf("peer %d: compacting to %d: got error %v, want none", id, p.applied, err)
	}
	c.note("compact %d %d", id, p.applied)
}

// randomStep does one thing at random.
func (c *ackCluster) randomStep() {
	id := c.ids[c.rng.IntN(len(c.ids))]
	p := c.peers[id]
	switch k := c.rng.IntN(100); {
	case k < 8:
		p.rn.Tick()
	case k < 10:
		c.note("campaign %d: %v", id, p.rn.Campaign())
	case k < 22:
		c.propose(id)
	case k < 25:
		p.rn.ReadIndex(fmt.Appendf(nil, "r%d", c.rng.IntN(4)))
	case k < 40:
		c.takeReady(id)
	case k < 55:
		c.process(id)
	case k < 63:
		// Advance held back for a while: several Readies accumulate.
		if p.advances > 0 && c.rng.IntN(3) == 0 || p.advances == 0 && c.rng.IntN(8) == 0 {
			c.advance(id)
		}
	case k < 66:
		c.compact(id)
	case k < 67:
		p.rn.TransferLeader(c.ids[c.rng.IntN(len(c.ids))])
	case k < 68:
		c.note("forget leader %d: %v", id, p.rn.ForgetLeader())
	case k < 69:
		// Cut a peer off for a while, so that it lags behind compactions
		// and needs a snapshot.
		if c.isolated == None {
			c.isolated = id
		} else {
			c.isolated = None
		}
		c.note("isolated %d", c.isolated)
	default:
		if len(c.net) > 0 {
			c.deliver(c.rng.IntN(len(c.net)), c.rng.IntN(20) == 0)
		}
	}
}

// settle runs every peer's Ready loop, delivers everything and ticks until
// the peers agree and have nothing left to do, and reports whether they
// did within the bound.
func (c *ackCluster) settle() bool {
	c.isolated = None
	for round := 0; round < 2000; round++ {
		for _, id := range c.ids {
			p := c.peers[id]
			for len(p.taken) > 0 {
				c.process(id)
			}
			c.advance(id)
			for p.rn.HasReady() {
				c.takeReady(id)
				c.process(id)
				c.advance(id)
			}
		}
		if len(c.net) > 0 {
			for len(c.net) > 0 {
				c.deliver(0, false)
			}
			continue
		}
		if c.agreed() {
			return true
		}
		for _, id := range c.ids {
			c.peers[id].rn.Tick()
		}
	}
	return false
}

// agreed reports whether there is a leader that every peer follows and
// every peer applied its last entry.
func (c *ackCluster) agreed() bool {
	var lead uint64
	for _, id := range c.ids {
		if c.peers[id].rn.raft.state == StateLeader {
			lead = id
		}
	}
	if lead == None {
		return false
	}
	last := c.peers[lead].rn.raft.log.lastIndex()
	for _, id := range c.ids {
		p := c.peers[id]
		if p.rn.raft.lead != lead || p.applied != last || p.rn.raft.log.lastIndex() != last {
			return false
		}
	}
	return true
}

// checkSettled checks the end state: nothing owed to Advance, nothing
// unstable, everything committed applied by every peer.
func (c *ackCluster) checkSettled() {
	for _, id := range c.ids {
		p := c.peers[id]
		r := p.rn.raft
		if p.rn.acks.pending() {
			c.t.Errorf("peer %d: got acknowledgements pending after the last Advance, want none", id)
		}
		if r.log.hasUnstableEnts() {
			c.t.Errorf("peer %d: got unstable entries after the last Advance, want all acknowledged", id)
		}
		if last, _ := p.st.LastIndex(); last != r.log.lastIndex() {
			c.t.Errorf("peer %d: got storage last index %d, want the log's %d", id, last, r.log.lastIndex())
		}
		if got, want := r.log.applied(), r.log.committed(); got != want || p.applied != want {
			c.t.Errorf("peer %d: got applied %d (application %d), want the commit index %d", id, got, p.applied, want)
		}
		if r.state == StateLeader {
			prs := p.rn.Status().Progress
			for _, other := range c.ids {
				if got, want := prs[other].Match, r.log.lastIndex(); got != want {
					c.t.Errorf("leader %d: got Match %d for %d, want the last index %d", id, got, other, want)
				}
			}
		}
		c.noteStatus(id)
	}
	for index := range c.appliedAt {
		for _, id := range c.ids {
			if p := c.peers[id]; p.applied < index {
				c.t.Errorf("peer %d: got applied %d, want at least %d, which another peer applied", id, p.applied, index)
			}
		}
	}
}

func TestAdvanceAcksRandomized(t *testing.T) {
	var seen ackCoverage
	for seed := uint64(1); seed <= uint64(*acksSeedsFlag); seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			c := newAckCluster(t, seed, &seen)
			for range 1500 {
				c.randomStep()
			}
			if !c.settle() {
				t.Fatalf("got no agreement after healing the network, want every peer to follow one leader and apply its log")
			}
			c.checkSettled()
			if *acksDigestFlag {
				t.Logf("digest %x", c.digest.Sum(nil))
			}
		})
	}
	t.Logf("coverage %+v", seen)
	if *acksSeedsFlag < 100 {
		return
	}
	t.Run("the runs reach the situations the test is about", func(t *testing.T) {
		for _, c := range []struct {
			name string
			got  int
		}{
			{"Readies taken before Advance", seen.heldReadies},
			{"Readies taken before Advance with messages to self", seen.heldWithSelfMsgs},
			{"term changes between Ready and Advance", seen.termChanges},
			{"snapshot Readies", seen.snapshots},
			{"Advances with no Ready", seen.emptyAdvances},
			{"proposals of the caller's entries accepted", seen.callerProposals},
			{"forwarded proposals", seen.forwarded},
		} {
			if c.got == 0 {
				t.Errorf("%s: got 0, want some over %d seeds", c.name, *acksSeedsFlag)
			}
		}
	})
}

// checkAllAcknowledged checks that a peer has nothing left for Advance and
// nothing unstable, and that its storage ends at last.
func checkAllAcknowledged(t *testing.T, n *testNode, last uint64) {
	t.Helper()
	if n.acks.pending() {
		t.Errorf("got acknowledgements pending after Advance, want none")
	}
	if n.raft.log.hasUnstableEnts() || n.raft.log.hasPendingSnapshot() {
		t.Errorf("got unstable entries or snapshot after Advance, want all acknowledged")
	}
	if got, _ := n.storage.LastIndex(); got != last {
		t.Errorf("got storage last index %d, want %d", got, last)
	}
}

// checkApplied runs a peer's Ready loop to its end and checks that it
// applied through applied.
func checkApplied(t *testing.T, n *testNode, applied uint64) {
	t.Helper()
	n.process()
	if got := n.raft.log.applied(); got != applied || n.appliedIndex != applied {
		t.Errorf("got applied %d (application %d), want %d", got, n.appliedIndex, applied)
	}
	if n.HasReady() {
		t.Errorf("got HasReady after the last Advance, want nothing left")
	}
}

// advanceAndCheck persists and applies the Readies taken, in order, calls
// Advance once, and checks that everything up to last is acknowledged and
// then applied.
func advanceAndCheck(t *testing.T, n *testNode, last uint64, taken ...Ready) {
	t.Helper()
	for _, rd := range taken {
		n.persist(rd)
		n.apply(rd.CommittedEntries)
	}
	n.Advance(Ready{})
	checkAllAcknowledged(t, n, last)
	checkApplied(t, n, last)
}

// mustStep steps m into n, failing the test on an error.
func mustStep(t *testing.T, n *testNode, m pb.Message) {
	t.Helper()
	if err := n.Step(m); err != nil {
		t.Fatalf("peer %d stepping %v from %d: got error %v, want none", n.raft.id, m.Type, m.From, err)
	}
}

func TestAdvanceAcksSnapshot(t *testing.T) {
	voters := []uint64{1, 2, 3}
	snapMsg := pb.Message{From: 1, To: 2, Type: pb.MsgSnap, Term: 1, Snapshot: &pb.Snapshot{
		Metadata: pb.SnapshotMetadata{Index: 10, Term: 1, ConfState: pb.ConfState{Voters: voters}}}}
	appMsg := pb.Message{From: 1, To: 2, Type: pb.MsgApp, Term: 1, Index: 10, LogTerm: 1, Commit: 12,
		Entries: []pb.Entry{{Index: 11, Term: 1, Data: []byte("a")}, {Index: 12, Term: 1, Data: []byte("b")}}}

	t.Run("a snapshot and entries in one Ready", func(t *testing.T) {
		n := newTestNode(t, 2, newConfStorage(voters))
		mustStep(t, n, snapMsg)
		mustStep(t, n, appMsg)
		rd := n.Ready()
		if got := rd.Snapshot.Metadata.Index; got != 10 || len(rd.Entries) != 2 {
			t.Fatalf("got a Ready with snapshot %d and %d entries, want snapshot 10 and 2 entries", got, len(rd.Entries))
		}
		advanceAndCheck(t, n, 12, rd)
	})
	t.Run("a snapshot Ready held while entries arrive", func(t *testing.T) {
		n := newTestNode(t, 2, newConfStorage(voters))
		mustStep(t, n, snapMsg)
		rd1 := n.Ready()
		if got := rd1.Snapshot.Metadata.Index; got != 10 || len(rd1.Entries) != 0 {
			t.Fatalf("got a first Ready with snapshot %d and %d entries, want snapshot 10 alone", got, len(rd1.Entries))
		}
		mustStep(t, n, appMsg)
		rd2 := n.Ready()
		if !IsEmptySnap(rd2.Snapshot) || len(rd2.Entries) != 2 {
			t.Fatalf("got a second Ready with snapshot %d and %d entries, want 2 entries alone", rd2.Snapshot.Metadata.Index, len(rd2.Entries))
		}
		advanceAndCheck(t, n, 12, rd1, rd2)
	})
	t.Run("Advance twice, and with no Ready", func(t *testing.T) {
		n := newTestNode(t, 2, newConfStorage(voters))
		n.Advance(Ready{})
		mustStep(t, n, snapMsg)
		rd := n.Ready()
		n.persist(rd)
		n.Advance(rd)
		before := n.BasicStatus()
		n.Advance(rd)
		if got := n.BasicStatus(); got != before {
			t.Errorf("got status %+v after a second Advance, want %+v unchanged", got, before)
		}
		checkAllAcknowledged(t, n, 10)
		checkApplied(t, n, 10)
	})
}

func TestAdvanceAcksHeldReadies(t *testing.T) {
	t.Run("a self-vote counts only on Advance, across Readies", func(t *testing.T) {
		nodes := newTestCluster(t, 3)
		c := nodes[0]
		if err := c.Campaign(); err != nil {
			t.Fatalf("Campaign: got error %v, want none", err)
		}
		rd1 := c.Ready()
		c.persist(rd1)
		if err := c.Step(pb.Message{From: 2, To: 1, Type: pb.MsgVoteResp, Term: c.raft.term}); err != nil {
			t.Fatalf("stepping 2's vote: got error %v, want none", err)
		}
		if c.raft.state != StateCandidate {
			t.Fatalf("got state %v with one vote of three counted, want candidate until Advance steps its own", c.raft.state)
		}
		rd2 := c.Ready()
		c.persist(rd2)
		c.Advance(rd2)
		if c.raft.state != StateLeader {
			t.Fatalf("got state %v after Advance, want leader with its own vote and 2's", c.raft.state)
		}
		rd3 := c.Ready()
		if len(rd3.Entries) != 1 || rd3.Entries[0].Index != 1 {
			t.Fatalf("got %d entries in the leader's first Ready, want its empty entry at 1", len(rd3.Entries))
		}
	})
	t.Run("a leader's own acknowledgement of proposals made between Ready and Advance", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		l, f2, f3 := nodes[0], nodes[1], nodes[2]
		last := l.raft.log.lastIndex()
		if err := l.Propose([]byte("x")); err != nil {
			t.Fatalf("Propose: got error %v, want none", err)
		}
		rd1 := l.Ready()
		l.persist(rd1)
		if err := l.Propose([]byte("y")); err != nil {
			t.Fatalf("Propose: got error %v, want none", err)
		}
		rd2 := l.Ready()
		l.persist(rd2)
		if got := l.Status().Progress[1].Match; got != last {
			t.Fatalf("got the leader's own Match %d before Advance, want %d", got, last)
		}
		// Followers 2 and 3 acknowledge; with the leader's own entries not
		// yet acknowledged, two of three still commit.
		var resps []pb.Message
		for _, m := range append(slices.Clone(rd1.Messages), rd2.Messages...) {
			f := map[uint64]*testNode{2: f2, 3: f3}[m.To]
			if err := f.Step(m); err != nil {
				t.Fatalf("follower %d stepping %v: got error %v, want none", m.To, m.Type, err)
			}
			resps = append(resps, f.process()...)
		}
		for _, m := range resps {
			if err := l.Step(m); err != nil {
				t.Fatalf("leader stepping %v from %d: got error %v, want none", m.Type, m.From, err)
			}
		}
		if got, want := l.raft.log.committed(), last+2; got != want {
			t.Fatalf("got commit index %d with the followers' acknowledgements, want %d", got, want)
		}
		l.Advance(rd2)
		if got, want := l.Status().Progress[1].Match, last+2; got != want {
			t.Errorf("got the leader's own Match %d after Advance, want %d", got, want)
		}
		rd3 := l.Ready()
		if got := len(rd3.CommittedEntries); got != 2 {
			t.Fatalf("got %d committed entries, want the 2 proposed", got)
		}
		l.persist(rd3)
		l.apply(rd3.CommittedEntries)
		l.Advance(rd3)
		if l.acks.pending() || l.raft.log.hasUnstableEnts() {
			t.Errorf("got acknowledgements pending or entries unstable after the last Advance, want none")
		}
		if got, want := l.appliedData(), []string{"x", "y"}; !slices.Equal(got, want) {
			t.Errorf("got applied %q, want %q", got, want)
		}
	})
}

func TestAdvanceAcksUnusedWithAsyncStorageWrites(t *testing.T) {
	nodes, nw := leaderWithFollowers(t, 3, withAsyncWrites())
	for i := range 20 {
		nw.propose(1, fmt.Sprintf("p%d", i))
		for _, n := range nodes {
			a := &n.acks
			if a.queued != nil || a.own != (ownAck{}) || a.appended != (appendAck{}) || a.applied != nil {
				t.Fatalf("peer %d: got acknowledgements kept for Advance (%+v), want none with AsyncStorageWrites", n.raft.id, *a)
			}
			before := n.BasicStatus()
			n.Advance(Ready{})
			if got := n.BasicStatus(); got != before {
				t.Fatalf("peer %d: got status %+v after Advance with AsyncStorageWrites, want %+v unchanged", n.raft.id, got, before)
			}
		}
	}
	for _, n := range nodes {
		if got := len(n.appliedData()); got != 20 {
			t.Errorf("peer %d: got %d proposals applied, want 20", n.raft.id, got)
		}
	}
}
