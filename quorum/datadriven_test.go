package quorum

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestDataDriven runs the scenarios in testdata/. The command language:
//
//	committed cfg=(1,2,3) [cfgj=(2,3,4)] idx=(100,_,101,99)
//	vote      cfg=(1,2,3) [cfgj=(2,3,4)] votes=(y,n,_,y)
//
// cfg lists the voters of a MajorityConfig; when cfgj is present (possibly
// as "cfgj=()") the command runs on the JointConfig{cfg, cfgj} instead. idx
// and votes hold one entry per voter of the union of both halves, in
// ascending voter ID order: an index or "_" (no ack) for idx, "y", "n" or "_"
// (not voted) for votes.
//
// committed prints Describe; vote prints the result of each half and, for a
// joint config, the combined result. Every result is cross-checked against
// the naive definitions in helpers_test.go and the test fails on a mismatch,
// so a -rewrite cannot silently bless a wrong answer.
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			cfg, joint := scanConfig(t, d)
			switch d.Cmd {
			case "committed":
				return runCommitted(t, cfg, joint, scanAcks(t, d, cfg))
			case "vote":
				return runVote(t, cfg, joint, scanVotes(t, d, cfg))
			default:
				t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
				return ""
			}
		})
	})
}

// runCommitted describes cfg and cross-checks its committed index.
func runCommitted(t *testing.T, cfg JointConfig, joint bool, l AckedIndexer) string {
	if !joint {
		got, want := cfg[0].CommittedIndex(l), naiveCommitted(cfg[0], l)
		if got != want {
			t.Fatalf("CommittedIndex of %v: got %v, want %v", cfg[0], got, want)
		}
		return cfg[0].Describe(l)
	}
	for i, half := range cfg {
		got, want := half.CommittedIndex(l), naiveCommitted(half, l)
		if got != want {
			t.Fatalf("CommittedIndex of half %d %v: got %v, want %v", i, half, got, want)
		}
	}
	got, want := cfg.CommittedIndex(l), naiveJointCommitted(cfg, l)
	if got != want {
		t.Fatalf("CommittedIndex of %v: got %v, want %v", cfg, got, want)
	}
	return cfg.Describe(l)
}

// runVote tallies votes against cfg and cross-checks every result.
func runVote(t *testing.T, cfg JointConfig, joint bool, votes map[uint64]bool) string {
	var out strings.Builder
	names := [2]string{"incoming", "outgoing"}
	var halves [2]VoteResult
	for i, half := range cfg {
		if i == 1 && !joint {
			break
		}
		halves[i] = half.VoteResult(votes)
		if want := naiveVote(JointConfig{half}, votes); halves[i] != want {
			t.Fatalf("VoteResult of %v: got %v, want %v", half, halves[i], want)
		}
		if joint {
			fmt.Fprintf(&out, "%s ", names[i])
		}
		fmt.Fprintf(&out, "%v: %v\n", half, halves[i])
	}
	if !joint {
		return out.String()
	}
	got := cfg.VoteResult(votes)
	if want := combineHalves(halves[0], halves[1]); got != want {
		t.Fatalf("VoteResult of %v: got %v, want %v (combined from halves)", cfg, got, want)
	}
	if want := naiveVote(cfg, votes); got != want {
		t.Fatalf("VoteResult of %v: got %v, want %v (naive)", cfg, got, want)
	}
	fmt.Fprintf(&out, "joint: %v\n", got)
	return out.String()
}

// scanConfig reads cfg and the optional cfgj; joint reports whether cfgj
// was given.
func scanConfig(t *testing.T, d *datadriven.TestData) (cfg JointConfig, joint bool) {
	in, ok := d.Arg("cfg")
	if !ok {
		t.Fatalf("%s: missing cfg=(...)", d.Pos)
	}
	cfg[0] = scanIDs(t, d, in)
	if out, ok := d.Arg("cfgj"); ok {
		cfg[1] = scanIDs(t, d, out)
		joint = true
	}
	return cfg, joint
}

// scanIDs parses a list of distinct voter IDs.
func scanIDs(t *testing.T, d *datadriven.TestData, arg datadriven.CmdArg) MajorityConfig {
	c := MajorityConfig{}
	for _, v := range listVals(arg) {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s: %s: bad voter ID %q: %v", d.Pos, arg.Key, v, err)
		}
		if _, dup := c[id]; dup {
			t.Fatalf("%s: %s: duplicate voter ID %d", d.Pos, arg.Key, id)
		}
		c[id] = struct{}{}
	}
	return c
}

// scanAcks parses idx=(...) against the sorted union of cfg's voters.
func scanAcks(t *testing.T, d *datadriven.TestData, cfg JointConfig) mapAckIndexer {
	ids, vals := scanPerVoter(t, d, cfg, "idx")
	l := mapAckIndexer{}
	for i, v := range vals {
		if v == "_" {
			continue
		}
		idx, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s: idx: bad index %q for voter %d: %v", d.Pos, v, ids[i], err)
		}
		l[ids[i]] = Index(idx)
	}
	return l
}

// scanVotes parses votes=(...) against the sorted union of cfg's voters.
func scanVotes(t *testing.T, d *datadriven.TestData, cfg JointConfig) map[uint64]bool {
	ids, vals := scanPerVoter(t, d, cfg, "votes")
	votes := map[uint64]bool{}
	for i, v := range vals {
		switch v {
		case "y":
			votes[ids[i]] = true
		case "n":
			votes[ids[i]] = false
		case "_":
		default:
			t.Fatalf("%s: votes: bad vote %q for voter %d, want y, n or _", d.Pos, v, ids[i])
		}
	}
	return votes
}

// scanPerVoter returns the sorted union of cfg's voters and the values of
// argument key, which must hold exactly one value per voter.
func scanPerVoter(t *testing.T, d *datadriven.TestData, cfg JointConfig, key string) ([]uint64, []string) {
	arg, ok := d.Arg(key)
	if !ok {
		t.Fatalf("%s: missing %s=(...)", d.Pos, key)
	}
	ids := MajorityConfig(cfg.IDs()).Slice()
	vals := listVals(arg)
	if len(vals) != len(ids) {
		t.Fatalf("%s: %s has %d values for the %d voters %v", d.Pos, key, len(vals), len(ids), ids)
	}
	return ids, vals
}

// listVals returns the values of arg, treating "key=()" as the empty list.
func listVals(arg datadriven.CmdArg) []string {
	if len(arg.Vals) == 1 && arg.Vals[0] == "" {
		return nil
	}
	return arg.Vals
}
