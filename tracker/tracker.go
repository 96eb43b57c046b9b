package tracker

import (
	"slices"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
)

// ProgressTracker is the leader's (or candidate's) view of the group: the
// membership Config, the replication Progress of every member, and the votes
// received in the current election.
type ProgressTracker struct {
	Config

	// Progress holds one entry per voter (in either half of Voters) and per
	// learner.
	//
	// Invariant: the keys of Progress are exactly the union of Voters[0],
	// Voters[1] and Learners (LearnersNext being within Voters[1]), and
	// Progress[id].IsLearner is true exactly for the IDs in Learners.
	Progress ProgressMap

	// Votes maps each node that has answered the current election to whether
	// it granted its vote. Only the first answer of a node counts; see
	// RecordVote.
	Votes map[uint64]bool

	// MaxInflight and MaxInflightBytes are the limits of the Inflights
	// window of every member's Progress: whoever adds a member (package
	// confchange) passes them to NewInflights.
	MaxInflight      int
	MaxInflightBytes uint64
}

// MakeProgressTracker returns a tracker with no members whose Progress
// entries are to get Inflights windows of maxInflight messages and
// maxBytes bytes (0 for no byte limit).
//
// Progress and Votes are empty non-nil maps. Of the Config, Voters[0] is an
// empty non-nil MajorityConfig, while Voters[1], Learners and LearnersNext
// are nil: they are created only when a configuration change needs them.
func MakeProgressTracker(maxInflight int, maxBytes uint64) ProgressTracker {
	return ProgressTracker{
		Config: Config{
			Voters: quorum.JointConfig{quorum.MajorityConfig{}, nil},
		},
		Progress:         ProgressMap{},
		Votes:            map[uint64]bool{},
		MaxInflight:      maxInflight,
		MaxInflightBytes: maxBytes,
	}
}

// ConfState returns the configuration as the raftpb.ConfState recorded in
// snapshots and returned by ApplyConfChange. Each ID list is sorted in
// ascending order, and nil when empty.
func (p *ProgressTracker) ConfState() pb.ConfState {
	return pb.ConfState{
		Voters:         sortedIDs(p.Voters[0]),
		VotersOutgoing: sortedIDs(p.Voters[1]),
		Learners:       sortedIDs(p.Learners),
		LearnersNext:   sortedIDs(p.LearnersNext),
		AutoLeave:      p.AutoLeave,
	}
}

// sortedIDs returns the IDs in set in ascending order, in a new slice; nil
// if set is empty.
func sortedIDs(set map[uint64]struct{}) []uint64 {
	return quorum.MajorityConfig(set).Slice()
}

// IsSingleton reports whether the group has exactly one voter and is not in
// a joint state, so that the one voter alone is a quorum.
func (p *ProgressTracker) IsSingleton() bool {
	return len(p.Voters[0]) == 1 && len(p.Voters[1]) == 0
}

// matchAckIndexer presents the Match of each Progress as the index that
// member has acknowledged. It is a map type, so converting it to the
// quorum.AckedIndexer interface does not allocate.
type matchAckIndexer ProgressMap

// AckedIndex implements quorum.AckedIndexer.
func (m matchAckIndexer) AckedIndex(id uint64) (quorum.Index, bool) {
	pr, ok := m[id]
	if !ok {
		return 0, false
	}
	return quorum.Index(pr.Match), true
}

// Committed returns the highest log index known to be replicated on a quorum
// of the voters (in a joint state, on a quorum of each half), based on the
// Match of their Progress (Raft thesis 3.6.2 and 4.3). Learners do not
// count. The caller still has to check the term of that entry before
// committing it (thesis 3.6.2). With no voters at all the result is
// math.MaxUint64, as nothing constrains it.
func (p *ProgressTracker) Committed() uint64 {
	return uint64(p.Voters.CommittedIndex(matchAckIndexer(p.Progress)))
}

// visitStackIDs is the number of members Visit orders without allocating.
const visitStackIDs = 32

// Visit calls f for each member's Progress, voters and learners alike, in
// ascending order of ID. f may modify the Progress it is given, but must not
// add or remove entries of p.Progress.
//
// NB: the order is what makes a leader's output (e.g. the messages it sends
// to every follower) deterministic. Groups of up to 32 members are visited
// without allocating.
func (p *ProgressTracker) Visit(f func(id uint64, pr *Progress)) {
	var onStack [visitStackIDs]uint64
	for _, id := range p.Progress.appendSortedIDs(onStack[:0]) {
		f(id, p.Progress[id])
	}
}

// QuorumActive reports whether a quorum of the voters (of each half, in a
// joint state) has been recently active, as recorded by
// Progress.RecentActive. A leader that finds this false steps down (thesis
// 6.2, check quorum).
func (p *ProgressTracker) QuorumActive() bool {
	active := make(map[uint64]bool, len(p.Progress))
	for id, pr := range p.Progress {
		active[id] = pr.RecentActive
	}
	// NB: VoteResult only asks the voters of each half, so the learners in
	// active carry no weight.
	return p.Voters.VoteResult(active) == quorum.VoteWon
}

// VoterNodes returns the IDs of the voters of both halves of the
// configuration, in ascending order and without duplicates. The slice is
// empty (not nil) if there are none.
func (p *ProgressTracker) VoterNodes() []uint64 {
	incoming, outgoing := p.Voters[0], p.Voters[1]
	nodes := make([]uint64, 0, len(incoming)+len(outgoing))
	for id := range incoming {
		nodes = append(nodes, id)
	}
	for id := range outgoing {
		if _, ok := incoming[id]; !ok {
			nodes = append(nodes, id)
		}
	}
	slices.Sort(nodes)
	return nodes
}

// LearnerNodes returns the IDs of the learners in ascending order, or nil if
// there are none. Voters being demoted (LearnersNext) are not included.
func (p *ProgressTracker) LearnerNodes() []uint64 {
	return sortedIDs(p.Learners)
}

// ResetVotes forgets the votes of the previous election, in preparation for
// a new one. Votes is replaced by a new map; a map obtained from Votes
// before the call is left as it was.
func (p *ProgressTracker) ResetVotes() {
	p.Votes = map[uint64]bool{}
}

// RecordVote records that node id granted (v true) or rejected (v false) its
// vote. Only the first answer of each node since ResetVotes is kept: a node
// votes at most once per term (Raft thesis 3.4), so a later answer is a
// duplicate or reordered message and is ignored.
func (p *ProgressTracker) RecordVote(id uint64, v bool) {
	if _, ok := p.Votes[id]; !ok {
		p.Votes[id] = v
	}
}

// TallyVotes returns how many voters granted and how many rejected their
// vote, and whether the election is won, lost, or still pending under the
// (possibly joint) voter configuration. Votes recorded from nodes that are
// not voters, such as learners, are not counted.
func (p *ProgressTracker) TallyVotes() (granted int, rejected int, _ quorum.VoteResult) {
	for id, yes := range p.Votes {
		switch {
		case !p.isVoter(id):
			// A learner's or a departed node's answer carries no weight.
		case yes:
			granted++
		default:
			rejected++
		}
	}
	return granted, rejected, p.Voters.VoteResult(p.Votes)
}
