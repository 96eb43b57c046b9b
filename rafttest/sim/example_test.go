package sim_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/quorate/raft"
	"github.com/quorate/raft/rafttest/sim"
)

// A run of the library's RawNode with the default storage and state
// machine. The plan drawn from the seed is adjusted to three voters that
// only propose and read.
func ExampleRun() {
	r := sim.Run(sim.Options{
		Seed: 42,
		Plan: func(p *sim.Plan) {
			p.Voters, p.Nodes = 3, 3
			p.Config.ReadOnlyOption = raft.ReadOnlySafe
			p.Work.ConfChange, p.Work.RetryRate = 0, 0
		},
	})
	fmt.Println("violation:", r.Violation)
	fmt.Println("liveness failure:", r.Liveness)
	fmt.Println("proposals made:", r.Stats.Proposals > 0)
	// Output:
	// violation: <nil>
	// liveness failure: <nil>
	// proposals made: true
}

// counter is a host's own state machine: it sums the numbers it is given.
type counter struct{ sum uint64 }

func (c *counter) Apply(_ uint64, cmd []byte) {
	n, _ := strconv.ParseUint(string(cmd), 10, 64)
	c.sum += n
}

func (c *counter) Snapshot() []byte { return binary.BigEndian.AppendUint64(nil, c.sum) }

func (c *counter) Restore(data []byte) error {
	switch len(data) {
	case 0:
		c.sum = 0
	case 8:
		c.sum = binary.BigEndian.Uint64(data)
	default:
		return fmt.Errorf("counter: snapshot of %d bytes", len(data))
	}
	return nil
}

func (c *counter) Read([]byte) []byte { return strconv.AppendUint(nil, c.sum, 10) }

// counterWork adds small numbers and reads the sum.
type counterWork struct{}

func (counterWork) Command(r *rand.Rand, _ uint64) []byte {
	return strconv.AppendUint(nil, uint64(r.IntN(10)), 10)
}
func (counterWork) Query(*rand.Rand) []byte { return nil }

// A host plugs in its own state machine (and the commands and queries its
// clients send); the oracles are the same. A sweep runs many seeds in
// parallel and counts what the oracles found.
func ExampleSweep() {
	s := sim.Sweep(sim.SweepOptions{
		Options: sim.Options{
			Steps:        2000,
			StateMachine: func(uint64) sim.StateMachine { return &counter{} },
			Workload:     counterWork{},
			Plan: func(p *sim.Plan) {
				p.Voters, p.Nodes = 3, 3
				p.Config.ReadOnlyOption = raft.ReadOnlySafe
				p.Work.ConfChange, p.Work.RetryRate = 0, 0
			},
		},
		From: 1, To: 9,
	})
	fmt.Println("runs:", s.Runs, "safe:", s.Safe(), "failed:", len(s.Failed))
	// Output:
	// runs: 8 safe: true failed: 0
}
