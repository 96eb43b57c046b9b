package tracker

import (
	"maps"
	"strings"

	"github.com/quorate/raft/quorum"
)

// Config is the membership of a Raft group: who votes, and who only learns.
//
// Outside a membership change Voters[1] is empty and Voters[0] decides every
// quorum. During a joint consensus change (Raft thesis 4.3) Voters[0] is the
// incoming and Voters[1] the outgoing configuration, and every decision needs
// a majority of both. Package confchange is the place that changes a Config;
// it keeps the invariants below.
//
// Empty sets are represented by nil maps, except Voters[0], which
// MakeProgressTracker creates non-nil. Readers must treat nil and empty alike.
type Config struct {
	// Voters is the joint voter configuration: Voters[0] is the incoming (or
	// only) majority config, Voters[1] the outgoing one, empty unless the
	// group is in a joint state.
	Voters quorum.JointConfig

	// AutoLeave is true if the group must leave the joint state on its own
	// once the configuration that entered it is applied, by proposing an
	// empty configuration change; false if the application will do it.
	//
	// Invariant: AutoLeave is false unless Voters[1] is non-empty.
	AutoLeave bool

	// Learners is the set of non-voting members: they receive the log but
	// count towards no quorum (thesis 4.2.1).
	//
	// Invariant: Learners is disjoint from Voters[0] and Voters[1]. A node
	// cannot learn and vote at once; see LearnersNext for a voter being
	// demoted.
	Learners map[uint64]struct{}

	// LearnersNext is the set of voters of the outgoing configuration that
	// become learners of the incoming one. They must keep voting in the
	// outgoing config until the joint state is left, so they cannot be in
	// Learners yet; leaving the joint state moves them there.
	//
	// Invariant: LearnersNext is a subset of Voters[1] and disjoint from
	// Learners and from Voters[0].
	LearnersNext map[uint64]struct{}
}

// String returns the configuration in the form
//
//	voters=(1 2 3)&&(1 2) learners=(4) learners_next=(5) autoleave
//
// where the voters part is always present (the "&&(...)" half only in a
// joint state), and learners, learners_next and autoleave appear only when
// non-empty or true. IDs are listed in ascending order.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("voters=")
	b.WriteString(c.Voters.String())
	if len(c.Learners) > 0 {
		b.WriteString(" learners=")
		b.WriteString(quorum.MajorityConfig(c.Learners).String())
	}
	if len(c.LearnersNext) > 0 {
		b.WriteString(" learners_next=")
		b.WriteString(quorum.MajorityConfig(c.LearnersNext).String())
	}
	if c.AutoLeave {
		b.WriteString(" autoleave")
	}
	return b.String()
}

// Clone returns a deep copy of the configuration: no map is shared with c,
// and a nil map in c stays nil in the copy.
func (c *Config) Clone() Config {
	return Config{
		Voters:       quorum.JointConfig{maps.Clone(c.Voters[0]), maps.Clone(c.Voters[1])},
		AutoLeave:    c.AutoLeave,
		Learners:     maps.Clone(c.Learners),
		LearnersNext: maps.Clone(c.LearnersNext),
	}
}

// isVoter reports whether id votes in either half of the configuration. A
// voter being demoted (in LearnersNext) still votes in the outgoing half.
func (c *Config) isVoter(id uint64) bool {
	_, incoming := c.Voters[0][id]
	_, outgoing := c.Voters[1][id]
	return incoming || outgoing
}
