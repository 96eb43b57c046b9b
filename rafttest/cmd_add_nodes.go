package rafttest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// handleAddNodes parses
//
//	add-nodes <count> [voters=(ids)] [learners=(ids)] [index=<i>]
//	    [content=(data, ...)] [content-term=<t>] [<config option>=<value> ...]
//
// See addNodes for the meaning, and configOptions for the options.
func handleAddNodes(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	args := positional(d)
	if len(args) != 1 {
		t.Fatalf("%s: add-nodes takes the number of nodes to add, got %v", d.Pos, args)
	}
	count, err := strconv.Atoi(args[0])
	if err != nil || count <= 0 {
		t.Fatalf("%s: add-nodes: %q is not a positive node count", d.Pos, args[0])
	}
	spec := nodeSpec{
		cs:          pb.ConfState{Voters: idList(t, d, "voters"), Learners: idList(t, d, "learners")},
		contentTerm: 1,
	}
	spec.cfg = env.defaultConfig()
	for _, a := range d.CmdArgs {
		switch a.Key {
		case "voters", "learners":
		case "index":
			a.Scan(t, 0, &spec.index)
		case "content":
			spec.content = a.Vals
		case "content-term":
			a.Scan(t, 0, &spec.contentTerm)
		default:
			if len(a.Vals) == 0 {
				continue // the positional count
			}
			set, ok := configOptions[a.Key]
			if !ok {
				t.Fatalf("%s: add-nodes: unknown option %q", d.Pos, a.Key)
			}
			if err := set(&spec.cfg, a.SingleVal(t)); err != nil {
				t.Fatalf("%s: add-nodes %s: %v", d.Pos, a.Key, err)
			}
		}
	}
	return env.addNodes(count, spec)
}

// nodeSpec describes the nodes one add-nodes command creates.
type nodeSpec struct {
	// cfg is the template for each node's Config; ID, Storage and Logger
	// are filled in per node.
	cfg raft.Config
	// cs is the initial configuration. When it is empty the nodes start
	// with empty storage, as a server that is about to be added to a
	// cluster does; index, content and contentTerm must then be unset.
	cs pb.ConfState
	// index is the index of the snapshot (at term 1) the storage starts
	// from, default 1, and the initial commit index.
	index uint64
	// content are the data of normal entries written to the storage after
	// the snapshot, at term contentTerm. They are not committed.
	content     []string
	contentTerm uint64
}

// defaultConfig is the configuration nodes get unless add-nodes overrides
// it: short timeouts so that scenarios stay short, and no flow control
// limits so that they only appear where a scenario asks for them.
func (env *InteractionEnv) defaultConfig() raft.Config {
	return raft.Config{
		ElectionTick:    3,
		HeartbeatTick:   1,
		MaxSizePerMsg:   math.MaxUint64,
		MaxInflightMsgs: math.MaxInt32,
	}
}

// addNodes creates count nodes with the next free IDs. Each starts from
// its own MemoryStorage: empty when spec.cs is empty, otherwise holding a
// snapshot at spec.index with configuration spec.cs, followed by
// spec.content, and a HardState with commit index spec.index.
func (env *InteractionEnv) addNodes(count int, spec nodeSpec) error {
	bootstrap := len(spec.cs.Voters) > 0 || len(spec.cs.Learners) > 0
	if !bootstrap && (spec.index != 0 || len(spec.content) > 0) {
		return fmt.Errorf("index and content need an initial configuration (voters or learners)")
	}
	if bootstrap && spec.index == 0 {
		spec.index = 1
	}
	for range count {
		id := uint64(len(env.Nodes) + 1)
		storage, err := newStorage(spec, bootstrap)
		if err != nil {
			return fmt.Errorf("node %d: %w", id, err)
		}
		cfg := spec.cfg
		cfg.ID = id
		cfg.Storage = storage
		cfg.Logger = logger{out: env.out}
		cfg.RandomSource = idSeededSource(id)
		if env.Options.OnConfig != nil {
			env.Options.OnConfig(&cfg)
		}
		rn, err := raft.NewRawNode(&cfg)
		if err != nil {
			return fmt.Errorf("node %d: %w", id, err)
		}
		n := &Node{RawNode: rn, Storage: storage, Config: &cfg}
		if bootstrap {
			n.applied = max(spec.index, cfg.Applied)
			n.recordConf(spec.index, spec.cs)
		} else {
			n.recordConf(0, pb.ConfState{})
		}
		env.Nodes = append(env.Nodes, n)
	}
	return nil
}

// newStorage builds the initial storage of a node added with spec.
func newStorage(spec nodeSpec, bootstrap bool) (*raft.MemoryStorage, error) {
	s := raft.NewMemoryStorage()
	if !bootstrap {
		return s, nil
	}
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: spec.index, Term: 1, ConfState: spec.cs}}
	if err := s.ApplySnapshot(snap); err != nil {
		return nil, err
	}
	ents := make([]pb.Entry, len(spec.content))
	for i, data := range spec.content {
		ents[i] = pb.Entry{Term: spec.contentTerm, Index: spec.index + 1 + uint64(i), Data: []byte(data)}
	}
	if err := s.Append(ents); err != nil {
		return nil, err
	}
	hs := pb.HardState{Term: max(1, spec.contentTerm), Commit: spec.index}
	return s, s.SetHardState(hs)
}

// configOptions maps the add-nodes option names to the Config field each
// sets. Booleans take true/false, sizes and counts a decimal number.
var configOptions = map[string]func(cfg *raft.Config, val string) error{
	"election-tick":  intOption(func(c *raft.Config, v int) { c.ElectionTick = v }),
	"heartbeat-tick": intOption(func(c *raft.Config, v int) { c.HeartbeatTick = v }),
	"applied":        uintOption(func(c *raft.Config, v uint64) { c.Applied = v }),
	"prevote":        boolOption(func(c *raft.Config, v bool) { c.PreVote = v }),
	"checkquorum":    boolOption(func(c *raft.Config, v bool) { c.CheckQuorum = v }),
	"read-only": func(c *raft.Config, val string) error {
		switch val {
		case "safe":
			c.ReadOnlyOption = raft.ReadOnlySafe
		case "lease-based":
			c.ReadOnlyOption = raft.ReadOnlyLeaseBased
		default:
			return fmt.Errorf("unknown read-only mode %q (want safe or lease-based)", val)
		}
		return nil
	},
	"max-committed-size-per-ready": uintOption(func(c *raft.Config, v uint64) { c.MaxCommittedSizePerReady = v }),
	"max-uncommitted-size":         uintOption(func(c *raft.Config, v uint64) { c.MaxUncommittedEntriesSize = v }),
	"max-size-per-msg":             uintOption(func(c *raft.Config, v uint64) { c.MaxSizePerMsg = v }),
	"max-inflight":                 intOption(func(c *raft.Config, v int) { c.MaxInflightMsgs = v }),
	"max-inflight-bytes":           uintOption(func(c *raft.Config, v uint64) { c.MaxInflightBytes = v }),
	"disable-conf-change-validation": boolOption(func(c *raft.Config, v bool) {
		c.DisableConfChangeValidation = v
	}),
	"disable-proposal-forwarding": boolOption(func(c *raft.Config, v bool) { c.DisableProposalForwarding = v }),
	"step-down-on-removal":        boolOption(func(c *raft.Config, v bool) { c.StepDownOnRemoval = v }),
	"async-storage-writes":        boolOption(func(c *raft.Config, v bool) { c.AsyncStorageWrites = v }),
}

func intOption(set func(*raft.Config, int)) func(*raft.Config, string) error {
	return func(c *raft.Config, val string) error {
		v, err := strconv.Atoi(val)
		if err != nil {
			return err
		}
		set(c, v)
		return nil
	}
}

func uintOption(set func(*raft.Config, uint64)) func(*raft.Config, string) error {
	return func(c *raft.Config, val string) error {
		v, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return err
		}
		set(c, v)
		return nil
	}
}

func boolOption(set func(*raft.Config, bool)) func(*raft.Config, string) error {
	return func(c *raft.Config, val string) error {
		v, err := strconv.ParseBool(val)
		if err != nil {
			return err
		}
		set(c, v)
		return nil
	}
}

// idSeededSource returns the randomness of node id in a scenario: seeded by
// the ID alone, so that every run of a scenario draws the same election
// timeouts.
func idSeededSource(id uint64) rand.Source {
	return rand.NewPCG(id, id^0x9e3779b97f4a7c15)
}
