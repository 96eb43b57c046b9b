package sim

// The host's application side: restoring the state machine from snapshots,
// applying committed entries (configuration changes handed back to the
// peer), serving reads once their index is applied, and framing proposals
// with their IDs.

import (
	"encoding/binary"
	"fmt"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// restoreSnapshot replaces n's state machine by the snapshot's, unless the
// state machine is already further.
func (c *cluster) restoreSnapshot(n *node, snap pb.Snapshot) {
	c.oracle.noteSnapshot(c, n, snap)
	c.stats.Snapshots++
	if snap.Metadata.Index <= n.smApplied {
		return
	}
	if err := n.sm.Restore(snap.Data); err != nil {
		c.fail(AppliedEntries, n.id, "restoring the state machine from snapshot %s: %v", raft.DescribeSnapshot(snap), err)
		return
	}
	n.smApplied = snap.Metadata.Index
	n.conf = snap.Metadata.ConfState
	c.oracle.noteApplied(c, n, snap.Metadata.Index)
}

// applyEntries applies committed entries to n's state machine, handing
// configuration changes back to the peer. Entries the state machine already
// holds (after a restart, or behind a snapshot) are checked but not
// applied again.
func (c *cluster) applyEntries(n *node, ents []pb.Entry) {
	for i := range ents {
		e := &ents[i]
		c.oracle.checkApplied(c, n, e)
		if e.Index > n.smApplied+1 {
			c.fail(AppliedEntries, n.id, "applies index %d while its state machine is at %d", e.Index, n.smApplied)
		}
		if c.violation != nil {
			return
		}
		fresh := e.Index > n.smApplied
		cc, err := confChangeOf(e)
		switch {
		case err != nil:
			c.fail(AppliedEntries, n.id, "undecodable configuration change at index %d: %v", e.Index, err)
			return
		case cc != nil:
			cs := n.peer.ApplyConfChange(cc)
			c.tracef("%d: applied conf change %d: %s -> %s", n.id, e.Index, describeConfChange(cc), raft.DescribeConfState(*cs))
			if fresh {
				wasMember := isMember(n.conf, n.id)
				n.conf = *cs
				if c.oracle.noteConf(e.Index, *cs) {
					c.reviveReadded(*cs)
				}
				if wasMember && !isMember(n.conf, n.id) {
					n.removed = true
					n.stopAfter = c.plan.StopRemoved
				}
			}
			c.client.confApplied(c, cc)
		case fresh && len(e.Data) > 0:
			if id, cmd, ok := unframe(e.Data); ok {
				n.sm.Apply(e.Index, cmd)
				c.live.noteApplied(id, e.Index)
			}
		}
		if fresh {
			n.smApplied = e.Index
		}
		c.oracle.noteApplied(c, n, e.Index)
	}
}

// serveReads serves the reads whose index n's state machine has reached.
func (c *cluster) serveReads(n *node) {
	kept := n.serveQ[:0]
	for _, r := range n.serveQ {
		if r.index > n.smApplied {
			kept = append(kept, r)
			continue
		}
		res := n.sm.Read(r.query)
		c.tracef("%d: read %q at index %d (ReadState %d): %q = %q", n.id, r.ctx, n.smApplied, r.index, r.query, res)
	}
	n.serveQ = kept
}

// frame prefixes cmd with the proposal ID.
func frame(id uint64, cmd []byte) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(cmd)), id), cmd...)
}

// unframe splits framed data into the proposal ID and the command.
func unframe(data []byte) (id uint64, cmd []byte, ok bool) {
	if len(data) < 8 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(data), data[8:], true
}

func describeConfChange(cc pb.ConfChangeI) string {
	v2 := cc.AsV2()
	if _, ok := cc.AsV1(); ok {
		return "v1 " + pb.ConfChangesToString(v2.Changes)
	}
	if len(v2.Changes) == 0 {
		return "leave-joint"
	}
	return fmt.Sprintf("v2 %s %s", v2.Transition, pb.ConfChangesToString(v2.Changes))
}
