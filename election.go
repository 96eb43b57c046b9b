package raft

import (
	"errors"
	"math/rand/v2"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
)

// seedRand gives the peer a deterministic source for its randomness, seeded
// with seed. Tests use it to make runs reproducible.
func (r *raft) seedRand(seed uint64) {
	r.rand = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// newRandomness returns the peer's source of randomness: src if the
// configuration gives one, else a generator seeded from the runtime's
// random source, so that no two peers share a sequence by accident.
func newRandomness(src rand.Source) *rand.Rand {
	if src == nil {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	return rand.New(src)
}

// resetRandomizedElectionTimeout draws a new timeout in [electionTimeout,
// 2*electionTimeout) (paper 5.2: randomized timeouts make split votes rare).
func (r *raft) resetRandomizedElectionTimeout() {
	r.randomizedElectionTimeout = r.electionTimeout + r.rand.IntN(r.electionTimeout)
}

// setRandomizedElectionTimeout overrides the drawn timeout until the next
// term or role change. For tests and the rafttest harness.
func (r *raft) setRandomizedElectionTimeout(v int) {
	r.randomizedElectionTimeout = v
}

// pastElectionTimeout reports whether the peer has waited out its randomized
// election timeout.
func (r *raft) pastElectionTimeout() bool {
	return r.electionElapsed >= r.randomizedElectionTimeout
}

// heardFromLeaderRecently reports whether the peer knows a leader of its
// term (possibly itself) and heard from it within the last electionTimeout
// ticks. Such a peer refuses pre-votes (thesis 9.6) and, with CheckQuorum,
// votes (thesis 4.2.3). NB: a leader's electionElapsed restarts every
// electionTimeout ticks, so a leader always answers true; ForgetLeader
// clears lead so that a follower answers false at once.
func (r *raft) heardFromLeaderRecently() bool {
	return r.lead != None && r.electionElapsed < r.electionTimeout
}

// isTransferCampaign reports whether vote request m comes from a campaign
// forced by a leadership transfer, which the current leader asked for and
// which therefore bypasses leader stickiness (thesis 3.10).
func isTransferCampaign(m pb.Message) bool {
	// NB: the conversion in a comparison does not allocate.
	return string(m.Context) == string(campaignTransfer)
}

// promotable reports whether the peer may campaign: it is a voter of the
// active configuration and has no snapshot waiting to be made durable.
func (r *raft) promotable() bool {
	pr := r.trk.Progress[r.id]
	return pr != nil && !pr.IsLearner && !r.raftLog.hasPendingSnapshot()
}

// hup starts an election if the peer is allowed to.
func (r *raft) hup(t CampaignType) {
	if r.state == StateLeader {
		r.logger.Debugf("%x ignoring MsgHup because already leader", r.id)
		return
	}
	if !r.promotable() {
		r.logger.Warningf("%x is unpromotable and can not campaign", r.id)
		return
	}
	if r.hasUnappliedConfChanges() {
		// NB: the configuration this peer would count votes in may be about
		// to change; wait until it is applied.
		r.logger.Warningf("%x cannot campaign at term %d since there are still pending configuration changes to apply", r.id, r.term)
		return
	}
	r.logger.Infof("%x is starting a new election at term %d", r.id, r.term)
	r.campaign(t)
}

// errScanStop ends a log scan early.
var errScanStop = errors.New("raft: scan stopped")

// hasUnappliedConfChanges reports whether a committed but unapplied entry is
// a configuration change.
func (r *raft) hasUnappliedConfChanges() bool {
	if r.raftLog.applied >= r.raftLog.committed {
		return false
	}
	found := false
	lo, hi := r.raftLog.applied+1, r.raftLog.committed+1
	// NB: paginated like the application of committed entries, so that a long
	// unapplied tail does not have to be loaded at once.
	err := r.raftLog.scan(lo, hi, r.raftLog.maxApplyingEntsSize, func(ents []pb.Entry) error {
		for i := range ents {
			if ents[i].Type == pb.EntryConfChange || ents[i].Type == pb.EntryConfChangeV2 {
				found = true
				return errScanStop
			}
		}
		return nil
	})
	if err != nil && err != errScanStop {
		// The entries are committed, so storage must have them.
		r.logger.Errorf("%x error scanning unapplied entries [%d, %d): %v", r.id, lo, hi, err)
		return true
	}
	return found
}

// campaign starts an election of kind t: asks every voter of the active
// (possibly joint) configuration for its vote, and votes for itself once that
// vote is durable.
func (r *raft) campaign(t CampaignType) {
	var term uint64
	var voteMsg pb.MessageType
	if t == campaignPreElection {
		r.becomePreCandidate()
		voteMsg = pb.MsgPreVote
		// NB: pre-votes are requested for the term the peer would campaign
		// in, without bumping its own term yet.
		term = r.term + 1
	} else {
		r.becomeCandidate()
		voteMsg = pb.MsgVote
		term = r.term
	}
	var ctx []byte
	if t == campaignTransfer {
		ctx = []byte(t)
	}
	last := r.raftLog.lastEntryID()
	for _, id := range r.trk.VoterNodes() {
		if id == r.id {
			// The self-vote counts once it is persisted with the term, as
			// any vote must be (paper figure 2).
			r.send(pb.Message{To: id, Term: term, Type: voteRespMsgType(voteMsg)})
			continue
		}
		r.logger.Infof("%x [logterm: %d, index: %d] sent %s request to %x at term %d",
			r.id, last.term, last.index, voteMsg, id, r.term)
		r.send(pb.Message{To: id, Term: term, Type: voteMsg, Index: last.index, LogTerm: last.term, Context: ctx})
	}
}

// poll records a (pre-)vote and returns the tally in the active
// configuration.
func (r *raft) poll(id uint64, t pb.MessageType, granted bool) (int, int, quorum.VoteResult) {
	if granted {
		r.logger.Infof("%x received %s from %x at term %d", r.id, t, id, r.term)
	} else {
		r.logger.Infof("%x received %s rejection from %x at term %d", r.id, t, id, r.term)
	}
	r.trk.RecordVote(id, granted)
	return r.trk.TallyVotes()
}
