package raft

// leaderState is everything only a leader has. It is created when the peer
// wins an election and dropped when it steps down, so no other role carries
// any of it, and a new leadership never inherits state from an earlier one.
type leaderState struct {
	// repl replicates the log to the members (replication.go).
	repl replication
	// reads confirms ReadIndex requests (read_index.go).
	reads readConfirmer
	// transfer is the leadership transfer under way, if any (transfer.go).
	transfer leaderTransfer
	// lease is the lease of ReadOnlyLeaseBased reads (lease.go).
	lease leaderLease

	// pendingConfIndex is the log index of the latest configuration change
	// this leader may have appended; another is admitted only once the
	// applied index reaches it (see membership). It starts at the end of the
	// log the leadership began with: a change may sit anywhere in its
	// uncommitted tail, and this spares scanning it.
	pendingConfIndex uint64
	// departures are the followers that changes in the log take out of
	// the voters, with AsyncStorageWrites (see departure).
	departures []departure

	// heartbeatElapsed counts the ticks since the last heartbeat broadcast.
	// Invariant: heartbeatElapsed < heartbeat timeout between ticks.
	heartbeatElapsed int
	// quorumElapsed counts the ticks since the last CheckQuorum round, or
	// since the leadership began.
	quorumElapsed int
}

// newLeaderState returns the state of a leadership beginning now: every
// member is probed from the end of the leader's log, and the leader itself
// is replicating and active.
func newLeaderState(r *raft) *leaderState {
	last := r.log.lastIndex()
	l := &leaderState{
		reads:            readConfirmer{option: r.cfg.readOnly, self: r.id},
		lease:            leaderLease{electionTimeout: uint64(r.cfg.electionTimeout)},
		pendingConfIndex: last,
	}
	l.repl.adopt(r.memberProgress(r.conf.config(), last+1), r.conf.voters())
	r.out.sizeForBroadcast(len(l.repl.peers) - 1)
	if self := l.repl.get(r.id); self != nil {
		self.BecomeReplicate()
		// NB: the leader is always active; checkQuorumActive keeps it so.
		self.RecentActive = true
	}
	return l
}

// tickLeader advances the leader's clocks: every election timeout it checks
// that a quorum is still with it (with CheckQuorum) and gives up a transfer
// that did not complete; every heartbeat timeout it sends heartbeats.
func (r *raft) tickLeader() {
	l := r.leading
	l.heartbeatElapsed++
	l.quorumElapsed++
	l.lease.now++
	if len(l.lease.firstSent) > 0 {
		l.lease.mergeStaleMarks()
	}
	if l.quorumElapsed >= r.cfg.electionTimeout {
		r.stir()
		l.quorumElapsed = 0
		if r.cfg.checkQuorum && !r.checkQuorumActive() {
			return
		}
	}
	if l.transfer.advance(r.cfg.electionTimeout) {
		r.stir()
		// Thesis 3.10: a transfer that has not completed within an election
		// timeout is abandoned, and this peer keeps leading.
		l.transfer.abort()
		// NB: leaving a joint configuration may have been refused while the
		// transfer was under way; do not wait for the next application.
		r.maybeAutoLeaveJoint()
	}
	// NB: reads held for the lease need heartbeats sent after they
	// arrived; they get one every tick rather than every heartbeat timeout.
	if l.heartbeatElapsed >= r.cfg.heartbeatTimeout || len(l.lease.held) > 0 {
		r.stir()
		l.heartbeatElapsed = 0
		r.bcastHeartbeat()
		// NB: here rather than every tick, which stays cheap for a leader
		// with nothing due.
		r.log.unstable.releaseIdle()
	}
}

// quiescedTick advances the leader's clocks without acting on them.
func (l *leaderState) quiescedTick() {
	l.quorumElapsed++
	l.lease.now++
	if l.transfer.to != None {
		l.transfer.elapsed++
	}
}

// checkQuorumActive steps down unless a quorum was heard from since the
// last round (thesis 6.2), starts a new round, and reports whether the peer
// still leads.
func (r *raft) checkQuorumActive() bool {
	if !r.leading.repl.quorumActive(r.conf.voters()) {
		r.logger.Warningf("%x steps down: no quorum heard from within an election timeout", r.id)
		r.becomeFollower(r.term, None)
		return false
	}
	r.leading.repl.forgetActivity(r.id)
	return true
}
