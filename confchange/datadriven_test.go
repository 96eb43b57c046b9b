package confchange

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// TestDataDriven runs the scenarios in testdata. Each file starts from an
// empty configuration and threads the result of every successful command into
// the next. Before each command LastIndex is bumped by one, so the Next of a
// node shows which command added it.
//
// Commands (changes are given in the input, in the "v1 l2 r3 u4" form):
//
//	simple                     Changer.Simple
//	enter-joint [autoleave=b]  Changer.EnterJoint
//	leave-joint                Changer.LeaveJoint
//	restore [voters=(ids)] [outgoing=(ids)] [learners=(ids)]
//	        [learners-next=(ids)] [autoleave=b]
//	                           Restore into the current configuration
//	reset                      back to the empty configuration
//
// Each prints the resulting Config and ProgressMap, or the error. Every
// command also checks that the Changer's tracker was left untouched and that
// results satisfy checkInvariants.
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		chg := Changer{Tracker: tracker.MakeProgressTracker(8, 0)}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "reset" {
				chg = Changer{Tracker: tracker.MakeProgressTracker(8, 0)}
				return "ok\n"
			}
			chg.LastIndex++
			before := takeSnapshot(chg.Tracker)
			cfg, prs, err := runCommand(t, chg, d)
			requireUnchanged(t, before, chg.Tracker)
			if err != nil {
				require.Equal(t, tracker.Config{}, cfg, "config returned with an error")
				require.Nil(t, prs, "progress returned with an error")
				return "error: " + err.Error() + "\n"
			}
			require.NoError(t, checkInvariants(cfg, prs))
			chg.Tracker.Config, chg.Tracker.Progress = cfg, prs
			return cfg.String() + "\n" + prs.String()
		})
	})
}

// runCommand runs one datadriven command against chg.
func runCommand(t *testing.T, chg Changer, d *datadriven.TestData) (tracker.Config, tracker.ProgressMap, error) {
	switch d.Cmd {
	case "simple":
		return chg.Simple(changesOf(d.Input)...)
	case "enter-joint":
		var autoLeave bool
		if d.HasArg("autoleave") {
			d.ScanArgs(t, "autoleave", &autoLeave)
		}
		return chg.EnterJoint(autoLeave, changesOf(d.Input)...)
	case "leave-joint":
		require.Empty(t, strings.TrimSpace(d.Input), "leave-joint takes no changes")
		return chg.LeaveJoint()
	case "restore":
		return Restore(chg, confStateFromArgs(t, d))
	default:
		t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
		panic("unreachable")
	}
}

// confStateFromArgs builds the ConfState given by the arguments of a restore
// command.
func confStateFromArgs(t *testing.T, d *datadriven.TestData) raftpb.ConfState {
	var cs raftpb.ConfState
	for _, arg := range d.CmdArgs {
		if arg.Key == "autoleave" {
			d.ScanArgs(t, "autoleave", &cs.AutoLeave)
			continue
		}
		ids := make([]uint64, 0, len(arg.Vals))
		for _, v := range arg.Vals {
			id, err := strconv.ParseUint(v, 10, 64)
			require.NoError(t, err, "%s: argument %s", d.Pos, arg.Key)
			ids = append(ids, id)
		}
		switch arg.Key {
		case "voters":
			cs.Voters = ids
		case "outgoing":
			cs.VotersOutgoing = ids
		case "learners":
			cs.Learners = ids
		case "learners-next":
			cs.LearnersNext = ids
		default:
			t.Fatalf("%s: unknown argument %s", d.Pos, arg.Key)
		}
	}
	return cs
}
