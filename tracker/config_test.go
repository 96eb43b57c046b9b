package tracker

import (
	"testing"

	"github.com/quorate/raft/quorum"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idSet returns the set of the given IDs, nil if there are none.
func idSet(ids ...uint64) map[uint64]struct{} {
	if len(ids) == 0 {
		return nil
	}
	s := make(map[uint64]struct{}, len(ids))
	for _, id := range ids {
		s[id] = struct{}{}
	}
	return s
}

func TestConfigString(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{{
		name: "no voters",
		cfg:  Config{},
		want: "voters=()",
	}, {
		name: "simple",
		cfg:  Config{Voters: quorum.JointConfig{idSet(3, 1, 2)}},
		want: "voters=(1 2 3)",
	}, {
		name: "empty non-nil maps are omitted",
		cfg:  Config{Voters: quorum.JointConfig{idSet(1), {}}, Learners: map[uint64]struct{}{}, LearnersNext: map[uint64]struct{}{}},
		want: "voters=(1)",
	}, {
		name: "learners",
		cfg:  Config{Voters: quorum.JointConfig{idSet(1, 2)}, Learners: idSet(4, 3)},
		want: "voters=(1 2) learners=(3 4)",
	}, {
		name: "joint with demotion and autoleave",
		cfg: Config{
			Voters:       quorum.JointConfig{idSet(1, 2, 3), idSet(1, 2, 5)},
			Learners:     idSet(4),
			LearnersNext: idSet(5),
			AutoLeave:    true,
		},
		want: "voters=(1 2 3)&&(1 2 5) learners=(4) learners_next=(5) autoleave",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.cfg.String())
		})
	}
}

func TestConfigClone(t *testing.T) {
	t.Run("copies are independent", func(t *testing.T) {
		cfg := Config{
			Voters:       quorum.JointConfig{idSet(1, 2, 3), idSet(1, 2, 5)},
			Learners:     idSet(4),
			LearnersNext: idSet(5),
			AutoLeave:    true,
		}
		c := cfg.Clone()
		require.Equal(t, cfg, c)

		c.Voters[0][9] = struct{}{}
		c.Voters[1][9] = struct{}{}
		c.Learners[9] = struct{}{}
		c.LearnersNext[9] = struct{}{}
		assert.Equal(t, "voters=(1 2 3)&&(1 2 5) learners=(4) learners_next=(5) autoleave", cfg.String())
	})
	t.Run("nil maps stay nil and empty maps stay empty", func(t *testing.T) {
		cfg := Config{Voters: quorum.JointConfig{quorum.MajorityConfig{}, nil}, Learners: map[uint64]struct{}{}}
		c := cfg.Clone()
		assert.NotNil(t, c.Voters[0])
		assert.Empty(t, c.Voters[0])
		assert.Nil(t, c.Voters[1])
		assert.NotNil(t, c.Learners)
		assert.Nil(t, c.LearnersNext)
		assert.Equal(t, cfg, c)
	})
}
