package rafttest

import (
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	pb "github.com/quorate/raft/raftpb"
)

// handleProposeConfChange parses
//
//	propose-conf-change <id> [v1=true] [transition=auto|implicit|explicit]
//	<changes>
//
// where <changes> (the input block) lists the changes in the compact form
// of raftpb.ConfChangesFromString: "v3" adds voter 3, "l4" adds learner 4
// (or demotes voter 4), "r2" removes node 2, "u5" updates node 5, e.g.
// "v4 r1". With v1=true the single change is proposed as a ConfChange
// (v1); otherwise the changes are proposed as one ConfChangeV2 with the
// given transition (default auto). An empty ConfChangeV2 asks to leave a
// joint configuration.
func handleProposeConfChange(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	id := exactlyOneNodeID(t, d)
	var v1 bool
	d.MaybeScanArgs(t, "v1", &v1)
	transition := pb.ConfChangeTransitionAuto
	if arg, ok := d.Arg("transition"); ok {
		switch arg.SingleVal(t) {
		case "auto":
		case "implicit":
			transition = pb.ConfChangeTransitionJointImplicit
		case "explicit":
			transition = pb.ConfChangeTransitionJointExplicit
		default:
			t.Fatalf("%s: unknown transition %q (want auto, implicit or explicit)", d.Pos, arg.Vals[0])
		}
	}
	changes, err := pb.ConfChangesFromString(strings.TrimSpace(d.Input))
	if err != nil {
		t.Fatalf("%s: %v", d.Pos, err)
	}
	var cc pb.ConfChangeI
	if v1 {
		if len(changes) != 1 || transition != pb.ConfChangeTransitionAuto {
			t.Fatalf("%s: a v1 conf change holds exactly one change and no transition, got %q", d.Pos, d.Input)
		}
		cc = pb.ConfChange{Type: changes[0].Type, NodeID: changes[0].NodeID}
	} else {
		cc = pb.ConfChangeV2{Changes: changes, Transition: transition}
	}
	return env.ProposeConfChange(id, cc)
}

// ProposeConfChange calls RawNode.ProposeConfChange on node id.
func (env *InteractionEnv) ProposeConfChange(id uint64, cc pb.ConfChangeI) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	return n.RawNode.ProposeConfChange(cc)
}
