package compat

// The watch of a mixed-cluster run: which library each incarnation of a node
// runs, the reads issued on each node and the answers that crossed between
// libraries, what it counts for the coverage checks, and the outcomes of a
// run that are known v3.6 behaviour. The peers that report to it are in
// mixwatch_peer_test.go.

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/rafttest/sim"
)

// library is the raft implementation an incarnation of a node runs.
type library uint8

const (
	ours library = iota
	etcd36
)

func (l library) String() string {
	if l == etcd36 {
		return "etcd"
	}
	return "ours"
}

// readClass says why a ReadState is kept from the simulation's read
// oracles: it shows a flaw etcd-raft v3.6 is known to have. Reads of no
// class (classChecked) go to the oracles.
type readClass uint8

const (
	classChecked readClass = iota
	// classEtcdLease: a lease read whose index an etcd-raft leader fixed.
	// v3.6's lease is counted from when the leader last heard from a
	// quorum, not from when it sent what they acknowledged, and a
	// leadership transfer does not end it.
	classEtcdLease
	// classEtcdSoleVoter: an etcd-raft leader that was the only voter of
	// its configuration, and had not committed an entry of its term yet,
	// when the request reached it. v3.6 answers such a request at once
	// with its commit index, which after a change that left one voter may
	// trail what the previous leader committed (etcd-io/raft#105).
	classEtcdSoleVoter
	// classEtcdRemovedLeader: an etcd-raft leader that was not a voter of
	// its own configuration when the request reached it (it was removed or
	// demoted, and without StepDownOnRemoval goes on leading its term). A
	// v3.6 leader left alone in its term, cut off from the new leader
	// when the only voter is the other one, answers from its own commit
	// index.
	classEtcdRemovedLeader
	// classEtcdRetry: a ReadState an etcd-raft node hands out for a
	// context its application passed to ReadIndex more than once. v3.6
	// cannot tell the attempts apart, so an answer confirmed before the
	// retry may answer it, and each attempt may be answered.
	classEtcdRetry
	// classEtcdDouble: a second ReadState an etcd-raft node hands out for
	// one ReadIndex call, e.g. when the network duplicated the leader's
	// answer or the follower's request.
	classEtcdDouble
	// classEtcdEarlier: a ReadState an etcd-raft node hands out for a
	// context only an earlier incarnation of the node issued: v3.6, as
	// leader, answers a request it forwarded as a follower before a
	// restart and a peer relayed back to it. Its host, a new process,
	// knows no such context; ours drops such requests.
	classEtcdEarlier

	numReadClasses
)

var readClassNames = [numReadClasses]string{
	classChecked:           "checked",
	classEtcdLease:         "etcd-lease",
	classEtcdSoleVoter:     "etcd-sole-voter",
	classEtcdRemovedLeader: "etcd-removed-leader",
	classEtcdRetry:         "etcd-retry",
	classEtcdDouble:        "etcd-double-answer",
	classEtcdEarlier:       "etcd-earlier-incarnation",
}

func (c readClass) String() string { return readClassNames[c] }

// exemptCount counts the ReadStates of one class, and those among them that
// the read oracles would have failed: stale (an index below what any node
// had applied when the read was issued) or answering a ReadIndex call a
// second time.
type exemptCount struct {
	reads, stale, double int
}

// watchStats is what one run's watch counted.
type watchStats struct {
	// exempt is indexed by readClass (classChecked unused).
	exempt [numReadClasses]exemptCount
	// passed counts the ReadStates shown to the oracles, by the library
	// of the node handing them out and of the leader that fixed the index.
	passed [2][2]int
	// passedLease counts the lease reads, and passedRetries the
	// ReadStates for retried contexts, fixed by our leaders and handed out
	// by our nodes, shown to the oracles; passedRetriesEtcd those for
	// retried contexts that our followers forwarded to etcd-raft leaders.
	passedLease, passedRetries, passedRetriesEtcd int
	// confChanges counts the configuration changes applied, ConfChange
	// and ConfChangeV2, on nodes of each library.
	confV1, confV2 [2]int
	// transfers counts MsgTimeoutNow sent from a leader of one library to
	// a node of the other (or the same); snapshots counts MsgSnap alike.
	transfers, snapshots [2][2]int
	// forwardedReads counts MsgReadIndex requests sent by a node of one
	// library to one of the other (or the same).
	forwardedReads [2][2]int
}

// answerKey names one answer to a forwarded ReadIndex request: the leader
// that sent it, the node it answers, the request context and attempt
// identifier (0 from an etcd-raft follower), and the index.
type answerKey struct {
	from, to uint64
	ctx      string
	attempt  uint64
	index    uint64
}

// requestKey names a ReadIndex request as a leader receives it: the node
// it comes from (the leader itself for its own application), its context
// and attempt identifier.
type requestKey struct {
	from    uint64
	ctx     string
	attempt uint64
}

// decider is what the watch knows of the leader that fixed a ReadState's
// index.
type decider struct {
	id  uint64
	lib library
	// flaw is the known v3.6 flaw the leader's answer may show, given
	// its state when the request reached it (classEtcdSoleVoter,
	// classEtcdRemovedLeader), or classChecked.
	flaw readClass
}

// runWatch follows one simulated run from its peers' side. Every peer of
// the run is a watchedPeer reporting to it. It knows which library each
// incarnation runs, the ReadIndex calls on each node and the answers that
// crossed, and it keeps from the simulation's read oracles the ReadStates
// that show a known v3.6 flaw (see readClass), checking them itself to
// count how many were in fact stale or repeated. It also records what the
// coverage checks and the liveness classification need.
//
// A run is single-threaded, and so is its watch.
type runWatch struct {
	lease bool
	// libraryOf decides the library of a node's next incarnation.
	libraryOf func(id uint64) library
	nodes     [sim.MaxNodes + 1]nodeWatch
	// maxApplied is the highest Applied any peer reported: what the
	// simulation's read oracle takes as applied anywhere.
	maxApplied uint64
	// answers maps the answers to forwarded requests handed out by a
	// leader, until the requester steps them in, to their decider.
	answers map[answerKey]decider
	// newestConf is the configuration after the applied change of highest
	// index, newestConfIndex.
	newestConf      pb.ConfState
	newestConfIndex uint64
	// etcdLeaderExits maps the index of each configuration change an
	// etcd-raft leader applied that took it out of the voters, while a
	// voter of the new configuration did not know the change committed,
	// to the term it led then; maxLeaderTerm is the highest term any node was seen
	// leading.
	etcdLeaderExits map[uint64]uint64
	maxLeaderTerm   uint64
	stats           watchStats
	trace           io.Writer
	// failures lists what the watch found wrong on our nodes in reads it
	// keeps from the oracles; a run with any fails.
	failures []string
}

// nodeWatch is what the watch keeps of one node over its incarnations.
type nodeWatch struct {
	lib  library
	peer *watchedPeer
	// incarnations counts the peers started for the node, per library.
	incarnations [2]int
	// reads maps each context issued on the node to its record.
	reads map[string]*readRecord
	// flawAt holds, for an etcd-raft leader, the flaw its answer to each
	// request it has not answered yet may show, given its state when the
	// request reached it (see receiptFlaw).
	flawAt map[requestKey]readClass
	// status is the peer's BasicStatus after the last call made to it.
	status raft.BasicStatus
}

// readRecord is what the watch knows of a context issued on a node.
type readRecord struct {
	issues int
	// by is the incarnation that issued the context last.
	by *watchedPeer
	// bound is maxApplied at the latest issue; answered is set once the
	// latest issue has had a ReadState.
	bound    uint64
	answered bool
	// attempt is the identifier of the latest attempt our follower
	// forwarded (0 if none is waiting), and accepted maps the index of
	// each answer it will hand out to the leader that gave it.
	attempt  uint64
	accepted map[uint64]decider
}

func newRunWatch(lease bool, libraryOf func(uint64) library, trace io.Writer) *runWatch {
	w := &runWatch{lease: lease, libraryOf: libraryOf, answers: make(map[answerKey]decider), etcdLeaderExits: make(map[uint64]uint64), trace: trace}
	for i := range w.nodes {
		w.nodes[i].reads = make(map[string]*readRecord)
		w.nodes[i].flawAt = make(map[requestKey]readClass)
	}
	return w
}

func (w *runWatch) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.failures = append(w.failures, msg)
	w.tracef("FAILURE %s", msg)
}

func (w *runWatch) tracef(format string, args ...any) {
	if w.trace != nil {
		fmt.Fprintf(w.trace, "                   compat: "+format+"\n", args...)
	}
}

// peers is the run's sim.PeerFactory: a peer of the library libraryOf
// picks, watched.
func (w *runWatch) peers(cfg *raft.Config) (sim.Peer, error) {
	lib := w.libraryOf(cfg.ID)
	var inner sim.Peer
	var err error
	if lib == etcd36 {
		inner, err = NewEtcdPeer(cfg)
	} else {
		inner, err = raft.NewRawNode(cfg)
	}
	if err != nil {
		return nil, err
	}
	nw := &w.nodes[cfg.ID]
	nw.lib = lib
	nw.incarnations[lib]++
	p := &watchedPeer{w: w, id: cfg.ID, lib: lib, inner: inner, storage: cfg.Storage, async: cfg.AsyncStorageWrites}
	nw.peer = p
	// NB: a new incarnation forgets the requests the old one had
	// forwarded: their answers are dropped.
	for _, rec := range nw.reads {
		rec.attempt, rec.accepted = 0, nil
	}
	clear(nw.flawAt)
	w.tracef("%d starts on %s (Applied %d)", cfg.ID, lib, cfg.Applied)
	p.noteStatus()
	return p, nil
}

// Outcomes of a run that are known v3.6 behaviour, not faults of ours.
const (
	// expectEtcdExit: the liveness phase failed (no leader, or a
	// membership stall), the newest configuration change took an
	// etcd-raft leader out of the voters while a voter of the new
	// configuration did not know the change was committed, and no node
	// led a later term. v3.6 lets a leader apply its exit once the change
	// commits; the new voters, knowing it unevenly, may never elect
	// anyone (one knows the commit but has the shorter log, the other
	// still counts votes in the old configuration). Ours holds its exit
	// back until a quorum of the new configuration knows (exit.go).
	expectEtcdExit = "liveness lost after an etcd-raft leader's exit"
	// expectEtcdNoVoters: an etcd-raft node panicked ("removed all
	// voters") applying a committed change that leaves no voter. Neither
	// library refuses such a change when it is proposed (it is valid
	// against a configuration other than the one it is applied to);
	// v3.6 panics applying it, ours leaves the configuration as it is
	// (TestEtcdPanicsApplyingRemovalOfLastVoter).
	expectEtcdNoVoters = "etcd-raft panicked applying a change that leaves no voter"
)

// expected returns why the outcome of a run (its violation or liveness
// failure) is known v3.6 behaviour, or "" if it is not.
func (w *runWatch) expected(r *sim.Result) string {
	switch {
	case r.Violation != nil:
		v := r.Violation
		if v.Oracle == sim.Panic && w.nodes[v.Node].lib == etcd36 &&
			strings.Contains(v.Detail, "panic: removed all voters") && strings.Contains(v.Detail, "(*EtcdPeer).ApplyConfChange") {
			return expectEtcdNoVoters
		}
	case r.Liveness != nil:
		if term, ok := w.etcdLeaderExits[w.newestConfIndex]; ok && w.maxLeaderTerm <= term {
			return expectEtcdExit
		}
	}
	return ""
}

// isVoterOf reports whether id is a voter of cs, incoming or outgoing.
func isVoterOf(cs pb.ConfState, id uint64) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.VotersOutgoing, id)
}
