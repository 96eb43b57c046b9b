package raft

// leaderState is everything only a leader has. It is created when the peer
// wins an election and dropped when it steps down, so no other role carries
// any of it, and a new leadership never inherits state from an earlier one.
type leaderState struct {
	// repl replicates the log to the members (replication.go).
	repl replication
	// reads confirms ReadIndex requests (read_index.go). It is nil until
	// the leadership's first read request (readRounds): most leaders of a
	// host with many groups never serve one.
	reads *readConfirmer
	// aside holds the parts of a leadership that are seldom in use: a
	// transfer under way and departures. It is nil while neither is, so
	// that most leaders carry neither (see leaderAside).
	aside *leaderAside
	// wake is the earliest tick (of the leader's clock, lease.now) at
	// which tickLeader may have something to do; a tick before it only
	// counts. NB: beside the clock, which an idle tick reads with it.
	// Invariant: wake <= beatDue, wake <= quorumDue, wake <= the
	// transfer's deadline, and wake <= lease.now+1 while lease reads are
	// held (each tick owes them a heartbeat).
	wake uint64
	// lease is the lease of ReadOnlyLeaseBased reads (lease.go). Its now
	// is the leader's clock: the ticks since it took office.
	lease leaderLease

	// pendingConfIndex is the log index of the latest configuration change
	// this leader may have appended; another is admitted only once the
	// applied index reaches it (see membership). It starts at the end of the
	// log the leadership began with: a change may sit anywhere in its
	// uncommitted tail, and this spares scanning it.
	pendingConfIndex uint64

	// beatDue is the tick at which the next heartbeat broadcast is due.
	// Ticks counted by TickQuiesced push it back: they send nothing.
	beatDue uint64
	// quorumDue is the tick of the next CheckQuorum round, an election
	// timeout after the last one or after the leadership began.
	// Invariant: quorumDue <= lease.now + election timeout.
	quorumDue uint64
}

// newLeaderState returns the state of a leadership beginning now: every
// member is probed from the end of the leader's log, and the leader itself
// is replicating and active.
func newLeaderState(r *raft) *leaderState {
	last := r.log.lastIndex()
	l := &leaderState{
		pendingConfIndex: last,
		beatDue:          uint64(r.cfg.heartbeatTimeout),
		quorumDue:        uint64(r.cfg.electionTimeout),
	}
	if r.cfg.readOnly == ReadOnlyLeaseBased {
		l.lease.leaseBook = &leaseBook{}
	}
	l.wake = l.nextWake(uint64(r.cfg.electionTimeout))
	l.repl.begin(&r.conf, r.id, last)
	r.out.sizeForBroadcast(l.repl.followers())
	return l
}

// leaderAside is what a leader has only now and then (see
// leaderState.aside).
// Invariant: transfer is under way or departures is not empty.
type leaderAside struct {
	// transfer is the leadership transfer under way, if any (transfer.go).
	transfer leaderTransfer
	// departures are the followers that changes in the log take out of
	// the voters, with AsyncStorageWrites (see departure).
	departures []departure
}

// moreAside returns l.aside, made on first use. The caller must leave it
// holding a transfer or a departure, or call tidyAside.
func (l *leaderState) moreAside() *leaderAside {
	if l.aside == nil {
		l.aside = &leaderAside{}
	}
	return l.aside
}

// tidyAside lets go of l.aside once it holds neither a transfer nor a
// departure.
func (l *leaderState) tidyAside() {
	if a := l.aside; a != nil && a.transfer.to == None && len(a.departures) == 0 {
		l.aside = nil
	}
}

// transferee returns the peer leadership is being transferred to, or None.
func (l *leaderState) transferee() uint64 {
	if l.aside == nil {
		return None
	}
	return l.aside.transfer.to
}

// abortTransfer forgets the transfer under way, if any.
func (l *leaderState) abortTransfer() {
	if l.aside != nil {
		l.aside.transfer.abort()
		l.tidyAside()
	}
}

// departing returns the departures. NB: the slice shares its array with
// the leader's: changing an element changes the departure.
func (l *leaderState) departing() []departure {
	if l.aside == nil {
		return nil
	}
	return l.aside.departures
}

// hasDepartures reports whether there are departures.
func (l *leaderState) hasDepartures() bool {
	return l.aside != nil && len(l.aside.departures) > 0
}

// setDepartures makes ds the departures.
func (l *leaderState) setDepartures(ds []departure) {
	if len(ds) == 0 && l.aside == nil {
		return
	}
	l.moreAside().departures = ds
	l.tidyAside()
}

// readRounds returns the leadership's read requests and rounds, made on
// first use. self is the leader.
func (l *leaderState) readRounds(self uint64) *readConfirmer {
	if l.reads == nil {
		l.reads = &readConfirmer{self: self}
	}
	return l.reads
}

// tickLeader does what falls due at the leader's tick lease.now, which
// tick has already counted (see raft.tick): every election timeout it checks
// that a quorum is still with it (with CheckQuorum) and gives up a transfer
// that did not complete; every heartbeat timeout it sends heartbeats. It
// then sets the tick at which to wake up next.
func (r *raft) tickLeader() {
	l := r.leading
	now := l.lease.now
	if l.lease.hasStaleMarks() {
		// NB: the leader wakes at least every heartbeat timeout, and until
		// then the stale marks only extend nothing.
		l.lease.mergeStaleMarks(uint64(r.cfg.electionTimeout))
	}
	if now >= l.quorumDue {
		r.stir()
		l.quorumDue = now + uint64(r.cfg.electionTimeout)
		if r.cfg.checkQuorum && !r.checkQuorumActive() {
			return
		}
	}
	if l.aside != nil && l.aside.transfer.expired(now, r.cfg.electionTimeout) {
		r.stir()
		// Thesis 3.10: a transfer that has not completed within an election
		// timeout is abandoned, and this peer keeps leading.
		l.abortTransfer()
		// NB: leaving a joint configuration may have been refused while the
		// transfer was under way; do not wait for the next application.
		r.maybeAutoLeaveJoint()
	}
	// NB: reads held for the lease need heartbeats sent after they
	// arrived; they get one every tick rather than every heartbeat timeout.
	if now >= l.beatDue || l.lease.holdsReads() {
		r.stir()
		l.beatDue = now + uint64(r.cfg.heartbeatTimeout)
		r.bcastHeartbeat()
		// NB: here rather than every tick, which stays cheap for a leader
		// with nothing due.
		r.log.unstable.releaseIdle()
	}
	l.wake = l.nextWake(uint64(r.cfg.electionTimeout))
}

// idleTick counts a tick of the leader's clock and reports whether it has
// nothing to do (it is before the wake-up tick).
func (l *leaderState) idleTick() bool {
	l.lease.now++
	return l.lease.now < l.wake
}

// nextWake returns the earliest tick at which tickLeader has something to
// do: the first of the heartbeat, the quorum round and the transfer's
// deadline (electionTimeout ticks after it started), or the next tick
// while lease reads are held.
func (l *leaderState) nextWake(electionTimeout uint64) uint64 {
	if l.lease.holdsReads() {
		return l.lease.now + 1
	}
	wake := min(l.beatDue, l.quorumDue)
	if l.transferee() != None {
		wake = min(wake, l.aside.transfer.deadline(electionTimeout))
	}
	return wake
}

// wakeBy makes the leader's tick act no later than at tick t.
func (l *leaderState) wakeBy(t uint64) {
	l.wake = min(l.wake, t)
}

// quiescedTick advances the leader's clock without acting on it. The
// heartbeat stays as far off as it was: quiesced ticks send nothing.
func (l *leaderState) quiescedTick() {
	l.lease.now++
	l.beatDue++
}

// checkQuorumActive steps down unless a quorum was heard from since the
// last round (thesis 6.2), starts a new round, and reports whether the peer
// still leads.
func (r *raft) checkQuorumActive() bool {
	if !r.leading.repl.quorumActive(r.conf.voters()) {
		r.cfg.logger.Warningf("%x steps down: no quorum heard from within an election timeout", r.id)
		r.becomeFollower(r.term, None)
		return false
	}
	r.leading.repl.forgetActivity()
	return true
}
