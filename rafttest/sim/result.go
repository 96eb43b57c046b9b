package sim

import (
	"fmt"
	"strings"
)

// Oracle names a property the simulation checks after every step. A run
// stops at the first violation of any of them.
type Oracle uint8

const (
	// ElectionSafety: at most one leader per term; a node's term never
	// decreases and its vote never changes within a term, except that a
	// restart may not lower either below what was persisted.
	ElectionSafety Oracle = iota
	// AppliedEntries: every node applies the same entry at the same index
	// (state machine safety), in index order, and installs only snapshots
	// that agree with the entries committed at their index.
	AppliedEntries
	// LeaderCompleteness: a new leader of term T holds every entry
	// committed by a leader of an earlier term.
	LeaderCompleteness
	// CommitIndex: a node's commit index never decreases, except across a
	// crash, and a restarted node's is never below what it had persisted.
	CommitIndex
	// Durability: a restarted node finds everything it had persisted: its
	// term, vote and log entries (a check of the Storage and of the
	// restart path).
	Durability
	// StaleRead: the index of every ReadState is at least every index that
	// any node had applied (and could have acknowledged to a client)
	// before the read was issued, by its latest ReadIndex call with that
	// context on that node. Reads under ReadOnlySafe, in every mode.
	StaleRead
	// LeaseRead is StaleRead for reads under ReadOnlyLeaseBased. It is
	// checked only in lock-step mode, where the clocks the leases rely on
	// run at the same rate; elsewhere lease reads are counted as unchecked.
	LeaseRead
	// ReadContext: every ReadState carries exactly a context the
	// application passed to ReadIndex on that node, at most once per
	// ReadIndex call.
	ReadContext
	// ReadyContract: what the node hands out keeps the Ready contract:
	// MustSync set when the HardState's term or vote or the entries
	// change, no message to the node itself, local messages only where
	// AsyncStorageWrites puts them, entries and committed entries
	// contiguous, committed entries never beyond the commit index, no
	// entry overwriting a committed one, and Applied reflecting what was
	// applied once Advance (or the apply thread's response) returns.
	ReadyContract
	// Panic: no panic and no refusal to start (NewRawNode's error) on valid
	// use.
	Panic

	numOracles
)

var oracleNames = [numOracles]string{
	ElectionSafety:     "election-safety",
	AppliedEntries:     "applied-entries",
	LeaderCompleteness: "leader-completeness",
	CommitIndex:        "commit-index",
	Durability:         "durability",
	StaleRead:          "stale-read",
	LeaseRead:          "lease-read",
	ReadContext:        "read-context",
	ReadyContract:      "ready-contract",
	Panic:              "panic",
}

// Oracles lists every oracle, in a fixed order.
func Oracles() []Oracle {
	all := make([]Oracle, numOracles)
	for i := range all {
		all[i] = Oracle(i)
	}
	return all
}

// ParseOracle returns the oracle named name (see Oracle.String).
func ParseOracle(name string) (Oracle, error) {
	for o, n := range oracleNames {
		if n == name {
			return Oracle(o), nil
		}
	}
	return 0, fmt.Errorf("sim: no oracle named %q", name)
}

// String returns the oracle's name, e.g. "stale-read".
func (o Oracle) String() string {
	if o < numOracles {
		return oracleNames[o]
	}
	return fmt.Sprintf("Oracle(%d)", uint8(o))
}

// Violation is a safety property found broken.
type Violation struct {
	Oracle Oracle
	// Step is the step at which it was found, Node the node it concerns
	// (0 if none).
	Step int
	Node uint64
	// Detail says what was seen, with the values involved.
	Detail string
}

func (v *Violation) String() string {
	return fmt.Sprintf("%s at step %d on node %d: %s", v.Oracle, v.Step, v.Node, v.Detail)
}

// LivenessClass says why the liveness phase failed.
type LivenessClass uint8

const (
	// NoLeader: no node was acknowledged as leader by a quorum of voters.
	NoLeader LivenessClass = iota
	// NoCommit: a leader was elected but the fresh proposal did not
	// commit.
	NoCommit
	// NoConvergence: the proposal committed but some member did not apply
	// it.
	NoConvergence
	// MembershipStall: no progress because the nodes that know the newest
	// configuration is committed are not voters of it (removed or
	// demoted), while its voters still act on an older one.
	MembershipStall

	numLivenessClasses
)

var livenessNames = [numLivenessClasses]string{
	NoLeader:        "no-leader",
	NoCommit:        "no-commit",
	NoConvergence:   "no-convergence",
	MembershipStall: "membership-stall",
}

// LivenessClasses lists every class, in a fixed order.
func LivenessClasses() []LivenessClass {
	all := make([]LivenessClass, numLivenessClasses)
	for i := range all {
		all[i] = LivenessClass(i)
	}
	return all
}

// String returns the class's name, e.g. "no-leader".
func (c LivenessClass) String() string {
	if c < numLivenessClasses {
		return livenessNames[c]
	}
	return fmt.Sprintf("LivenessClass(%d)", uint8(c))
}

// LivenessFailure says that the healed cluster did not make progress within
// the liveness phase's budget.
type LivenessFailure struct {
	Class LivenessClass
	// Detail describes the state of every node when the budget ran out.
	Detail string
}

func (l *LivenessFailure) String() string {
	return fmt.Sprintf("liveness %s: %s", l.Class, l.Detail)
}

// Stats counts what happened in a run.
type Stats struct {
	// Steps is the number of steps of the run, LivenessSteps those of its
	// liveness phase.
	Steps, LivenessSteps int
	// Ticks is the number of ticks of the virtual clock.
	Ticks int
	// Delivered, Dropped and Duplicated count messages between nodes.
	Delivered, Dropped, Duplicated int
	// Readies counts the Readies handed out.
	Readies int
	// Proposals counts the proposals made, Applied the normal entries
	// applied (on any node, counted once per index).
	Proposals, Applied int
	// Reads counts ReadIndex calls (Retries of them reused a context),
	// ReadStates the answers, CheckedReads those the read oracle checked,
	// UncheckedLeaseReads the lease reads outside lock-step mode, and
	// DroppedReads the reads reported dropped (Config.ReportDroppedReads).
	Reads, Retries, ReadStates, CheckedReads, UncheckedLeaseReads, DroppedReads int
	// ConfChanges counts the configuration changes proposed, Transfers
	// the leadership transfers asked for.
	ConfChanges, Transfers int
	// Crashes, Partitions, Compactions and Snapshots (installed by a
	// follower) count faults and their consequences.
	Crashes, Partitions, Compactions, Snapshots int
	// Leaders counts the (term, leader) pairs seen.
	Leaders int
	// Tolerated counts the violations of the oracles in Options.Tolerate.
	Tolerated [numOracles]int
}

// Result is the outcome of one run.
type Result struct {
	Seed uint64
	Plan Plan
	// Violation is the first safety violation, or nil. The run stops at
	// it, and the liveness phase does not run.
	Violation *Violation
	// Liveness is the liveness failure, or nil.
	Liveness *LivenessFailure
	Stats    Stats
}

// Failed reports whether the run found a violation or a liveness failure.
func (r *Result) Failed() bool {
	for _, n := range r.Stats.Tolerated {
		if n > 0 {
			return true
		}
	}
	return r.Violation != nil || r.Liveness != nil
}

// String summarises the run in one line.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d steps", r.Seed, r.Stats.Steps)
	switch {
	case r.Violation != nil:
		fmt.Fprintf(&b, ", %s", r.Violation)
	case r.Liveness != nil:
		fmt.Fprintf(&b, ", %s", r.Liveness)
	default:
		b.WriteString(", ok")
	}
	return b.String()
}
