package sim

import (
	"flag"
	"fmt"
	"testing"
)

// flagNoValidationSeeds sweeps a range of seeds with configuration change
// validation forced off (see TestSimulationWithoutValidation).
var flagNoValidationSeeds = flag.String("sim.novalidation", "",
	"sweep the seeds FROM:TO (TO excluded) with DisableConfChangeValidation forced on every node")

// withoutValidation makes every node of a run skip the validation of
// configuration changes at proposal, with a host that serialises its own
// proposals as such a host must. Most seeds draw validation on, so this
// puts the exit hold's DisableConfChangeValidation rules (exit.go) under
// every other mode the simulation varies.
func withoutValidation(p *Plan) {
	p.Config.DisableConfChangeValidation = true
	p.SerializeConfChanges = true
}

// TestSimulationWithoutValidation replays, with validation forced off, the
// seeds that failed once so (under earlier forms of the exit hold), and with
// -sim.novalidation=FROM:TO sweeps a range of seeds; with -sim.seed (and
// -sim.trace) it replays one.
func TestSimulationWithoutValidation(t *testing.T) {
	if *flagSeed != 0 {
		replay(t, *flagSeed, withoutValidation)
		return
	}
	if *flagNoValidationSeeds != "" {
		var from, to uint64
		if _, err := fmt.Sscanf(*flagNoValidationSeeds, "%d:%d", &from, &to); err != nil || to <= from {
			t.Fatalf("-sim.novalidation=%q: want FROM:TO with FROM < TO", *flagNoValidationSeeds)
		}
		opts := Options{Steps: *flagSteps, LivenessSteps: *flagLive, Plan: withoutValidation}
		s := Sweep(SweepOptions{Options: opts, From: from, To: to, Parallel: *flagParallel,
			OnResult: func(r *Result) {
				if r.Failed() {
					t.Errorf("%s\n\treplay: go test ./rafttest/sim -run 'TestSimulationWithoutValidation$' -sim.novalidation=%d:%d",
						r.String(), r.Seed, r.Seed+1)
				}
			}})
		t.Logf("%s", s.String())
		return
	}
	for _, tc := range []struct {
		seed uint64
		why  string
	}{
		{3233, "a leader that stepped down holding its leave-joint refused to campaign past a second leave-joint, which does not apply, and the other voter could not win without it"},
		{4261, "the same, the leader stepping down for a transfer whose candidate's log its marker had just made stale"},
		{4911, "the same, in a cluster of six"},
		{7048, "under a candidate fix: a leader holding its removal, inherited with a demotion after it, committed in the configuration before them while the remaining voter had applied both"},
		{5200, "under a candidate fix that kept every hold on stepping down and campaigned past any later change: a membership stall"},
	} {
		t.Run(fmt.Sprintf("seed=%d", tc.seed), func(t *testing.T) {
			if r := Run(Options{Seed: tc.seed, Plan: withoutValidation}); r.Failed() {
				t.Errorf("%s (once: %s)\n\treplay: go test ./rafttest/sim -run 'TestSimulationWithoutValidation$' -sim.seed=%d -sim.trace",
					r.String(), tc.why, tc.seed)
			}
		})
	}
}
