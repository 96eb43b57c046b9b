package raft

import (
	"errors"
	"math"
	"runtime"
	"testing"
	"weak"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidation(t *testing.T) {
	valid := func() *Config { return newTestConfig(1, newConfStorage([]uint64{1})) }
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		wantErr string // a substring naming the field
	}{
		{"ID None", func(c *Config) { c.ID = None }, "Config.ID"},
		{"ID of the append thread", func(c *Config) { c.ID = LocalAppendThread }, "Config.ID"},
		{"ID of the apply thread", func(c *Config) { c.ID = LocalApplyThread }, "Config.ID"},
		{"HeartbeatTick 0", func(c *Config) { c.HeartbeatTick = 0 }, "HeartbeatTick"},
		{"HeartbeatTick negative", func(c *Config) { c.HeartbeatTick = -1 }, "HeartbeatTick"},
		{"ElectionTick equal to HeartbeatTick", func(c *Config) { c.ElectionTick = c.HeartbeatTick }, "ElectionTick"},
		{"nil Storage", func(c *Config) { c.Storage = nil }, "Storage"},
		{"MaxInflightMsgs 0", func(c *Config) { c.MaxInflightMsgs = 0 }, "MaxInflightMsgs"},
		{"MaxInflightBytes below MaxSizePerMsg", func(c *Config) {
			c.MaxSizePerMsg = 1024
			c.MaxInflightBytes = 1000
		}, "MaxInflightBytes"},
		{"unknown ReadOnlyOption", func(c *Config) { c.ReadOnlyOption = 5 }, "ReadOnlyOption"},
		{"lease reads without CheckQuorum", func(c *Config) { c.ReadOnlyOption = ReadOnlyLeaseBased }, "CheckQuorum"},
		{"Applied beyond the stored commit index", func(c *Config) { c.Applied = 5 }, "Applied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			before := *c
			_, err := NewRawNode(c)
			require.Error(t, err, "got no error")
			assert.Contains(t, err.Error(), tc.wantErr, "got %q, want it to name %s", err, tc.wantErr)
			assert.Equal(t, before, *c, "got the caller's Config modified")
		})
	}
	t.Run("nil config", func(t *testing.T) {
		_, err := NewRawNode(nil)
		assert.Error(t, err, "got no error for a nil Config")
	})
	t.Run("defaults are filled in a copy", func(t *testing.T) {
		c := valid()
		c.MaxSizePerMsg = 4096
		c.Logger = nil
		before := *c
		rn, err := NewRawNode(c)
		require.NoError(t, err)
		assert.Equal(t, before, *c, "got the caller's Config modified")
		r := rn.raft
		assert.Equal(t, entryPayloadSize(noLimit), r.cfg.maxUncommittedSize, "got MaxUncommittedEntriesSize %d, want no limit", r.cfg.maxUncommittedSize)
		assert.Equal(t, entryEncodingSize(4096), r.cfg.maxApplying, "got MaxCommittedSizePerReady %d, want MaxSizePerMsg", r.cfg.maxApplying)
		assert.Equal(t, uint64(noLimit), r.cfg.maxInflightBytes, "got MaxInflightBytes %d, want no limit", r.cfg.maxInflightBytes)
		assert.Equal(t, getLogger(), r.cfg.logger, "got a logger other than the package logger")
	})
}

// failingStorage is a Storage whose InitialState fails.
type failingStorage struct{ *MemoryStorage }

var errTestStorage = errors.New("disk on fire")

func (failingStorage) InitialState() (pb.HardState, pb.ConfState, error) {
	return pb.HardState{}, pb.ConfState{}, errTestStorage
}

func TestNewRawNodeStoredState(t *testing.T) {
	t.Run("a storage error is returned", func(t *testing.T) {
		_, err := NewRawNode(newTestConfig(1, failingStorage{NewMemoryStorage()}))
		assert.ErrorIs(t, err, errTestStorage, "got %v, want the storage error", err)
	})
	t.Run("a stored commit index beyond the log is an error", func(t *testing.T) {
		s := storageWithLog(t, []uint64{1}, 1, 1)
		require.NoError(t, s.SetHardState(pb.HardState{Term: 1, Commit: 5}))
		_, err := NewRawNode(newTestConfig(1, s))
		assert.Error(t, err, "got no error for commit 5 with 2 entries")
	})
	t.Run("an invalid stored configuration is an error", func(t *testing.T) {
		s := NewMemoryStorage()
		s.snapshot.Metadata.ConfState = pb.ConfState{Voters: []uint64{1}, Learners: []uint64{1}}
		_, err := NewRawNode(newTestConfig(1, s))
		assert.Error(t, err, "got no error for a peer both voter and learner")
	})
	t.Run("Applied below the storage snapshot is an error", func(t *testing.T) {
		s := newConfStorage([]uint64{1})
		require.NoError(t, s.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 10, Term: 1,
			ConfState: pb.ConfState{Voters: []uint64{1}}}}))
		c := newTestConfig(1, s)
		c.Applied = 3
		_, err := NewRawNode(c)
		assert.Error(t, err, "got no error for Applied below the snapshot")
	})
	t.Run("a restart resumes after Applied", func(t *testing.T) {
		s := storageWithLog(t, []uint64{1}, 1, 1, 1, 1)
		require.NoError(t, s.SetHardState(pb.HardState{Term: 1, Commit: 4}))
		c := newTestConfig(1, s)
		c.Applied = 2
		rn, err := NewRawNode(c)
		require.NoError(t, err)
		rd := rn.Ready()
		require.Len(t, rd.CommittedEntries, 2, "rd.CommittedEntries: got %d, want 2", len(rd.CommittedEntries))
		assert.Equal(t, uint64(3), rd.CommittedEntries[0].Index, "got first committed entry %d, want 3", rd.CommittedEntries[0].Index)
		assert.True(t, IsEmptyHardState(rd.HardState), "got HardState %v handed out again", rd.HardState)
		assert.Empty(t, rd.Entries, "got persisted entries handed out again")
	})
}

// sliceLogger is a Logger whose dynamic type cannot be compared.
type sliceLogger struct {
	lines []string
	*DefaultLogger
}

// nanLogger is a comparable Logger unequal to itself when level is NaN.
type nanLogger struct {
	level float64
	*DefaultLogger
}

// loggedGroup is a host's group, whose logger points back at it.
type loggedGroup struct{ rn *raft }

// groupLogger is a comparable Logger that leads back to its group's peer.
type groupLogger struct {
	*DefaultLogger
	group *loggedGroup
}

// wrappedLogger is a Logger whose dynamic type can be compared, but whose
// values cannot when the Logger it wraps is a sliceLogger: comparing them
// panics (as a logging adapter that embeds the Logger interface would).
type wrappedLogger struct {
	Logger
}

func TestPeersShareEqualSettings(t *testing.T) {
	peer := func(id uint64, mutate func(*Config)) *raft {
		c := newTestConfig(id, newConfStorage([]uint64{1, 2, 3}))
		mutate(c)
		rn, err := NewRawNode(c)
		require.NoError(t, err)
		return rn.raft
	}
	same := func(*Config) {}
	t.Run("peers built from equal settings share one copy", func(t *testing.T) {
		a, b := peer(1, same), peer(2, same)
		assert.Same(t, a.cfg, b.cfg, "got two copies of equal settings")
		assert.Same(t, a.cfg, a.log.cfg, "got the log holding other settings than its peer")
	})
	t.Run("different settings are not shared", func(t *testing.T) {
		a := peer(1, same)
		b := peer(1, func(c *Config) { c.PreVote = !c.PreVote })
		assert.NotSame(t, a.cfg, b.cfg, "got settings shared across configurations")
		assert.NotEqual(t, a.cfg.preVote, b.cfg.preVote, "got PreVote %v for both peers", a.cfg.preVote)
	})
	t.Run("peers whose logger leads back to them are collected once dropped", func(t *testing.T) {
		// A per-group logger pointing at its group is common in hosts of
		// many groups; the shared settings' table must not keep such a
		// group, and with it its peer, alive after the host dropped it.
		var groups []weak.Pointer[loggedGroup]
		for id := uint64(1); id <= 8; id++ {
			g := &loggedGroup{}
			g.rn = peer(id, func(c *Config) { c.Logger = groupLogger{DefaultLogger: discardLogger, group: g} })
			groups = append(groups, weak.Make(g))
		}
		runtime.GC()
		runtime.GC()
		for i, w := range groups {
			assert.Nil(t, w.Value(), "got group %d kept alive after the host dropped it", i+1)
		}
	})
	t.Run("a logger that cannot be compared gets settings of its own", func(t *testing.T) {
		logger := func(c *Config) { c.Logger = sliceLogger{DefaultLogger: discardLogger} }
		a, b := peer(1, logger), peer(2, logger)
		assert.NotSame(t, a.cfg, b.cfg, "got settings with an incomparable logger shared")
		assert.IsType(t, sliceLogger{}, a.cfg.logger, "got logger %T, want the configured one", a.cfg.logger)
	})
	t.Run("a logger unequal to itself gets settings of its own and no entry", func(t *testing.T) {
		logger := func(c *Config) { c.Logger = nanLogger{level: math.NaN(), DefaultLogger: discardLogger} }
		a, b := peer(1, logger), peer(2, logger)
		assert.NotSame(t, a.cfg, b.cfg, "got settings with a NaN logger shared")
		sharedSettings.Lock()
		defer sharedSettings.Unlock()
		for k := range sharedSettings.copies {
			assert.True(t, k == k, "got an entry for settings unequal to themselves, which could never be dropped: %+v", k)
		}
	})
	t.Run("a comparable logger wrapping one that cannot be compared", func(t *testing.T) {
		c := newTestConfig(1, newConfStorage([]uint64{1, 2, 3}))
		c.Logger = wrappedLogger{Logger: sliceLogger{DefaultLogger: discardLogger}}
		var rn *RawNode
		var err error
		panicked := func() (v any) {
			defer func() { v = recover() }()
			rn, err = NewRawNode(c)
			return nil
		}()
		if panicked != nil {
			t.Fatalf("got NewRawNode panicking with %v, want a peer", panicked)
		}
		require.NoError(t, err)
		assert.IsType(t, wrappedLogger{}, rn.raft.cfg.logger, "got logger %T, want the configured one", rn.raft.cfg.logger)
	})
}
