package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// peerProgress.String goes into log messages, which must read as
// tracker.Progress.String prints the same progress.
func TestPeerProgressString(t *testing.T) {
	full := peerProgress{id: 2, match: 4, next: 5, state: flowReplicate, active: true}
	full.sentEntries(1, 10, windowLimits{count: 2})
	full.sentEntries(1, 10, windowLimits{count: 2})
	snap := peerProgress{id: 3, match: 1, next: 2, state: flowProbe}
	snap.becomeSnapshot(9)
	for _, tt := range []struct {
		name string
		p    peerProgress
		want string
	}{
		{"probing learner not heard from", peerProgress{id: 4, match: 2, next: 3, state: flowProbe, learner: true, paused: true},
			"StateProbe match=2 next=3 learner paused inactive"},
		{"replicating with a full window", full, "StateReplicate match=4 next=7 paused inflight=2[full]"},
		{"waiting for a snapshot", snap, "StateSnapshot match=1 next=10 paused pendingSnap=9 inactive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.p.String(), "got %q, want %q", tt.p.String(), tt.want)
		})
	}
}
