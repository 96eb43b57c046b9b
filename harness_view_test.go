package raft_test

// The names bench_test.go uses for the harness of harness_test.go, as a
// view of it: cluster is a raft.TestNetwork and clusterNode a
// raft.TestNode, and every method forwards to them. No Ready loop or
// message queue lives here. The fields of clusterNode that bench_test.go
// reads (appliedIndex, readCount, rn) mirror the TestNode's and are
// refreshed after each forwarded call; recordApplied is handed down before
// it. This view exists because bench_test.go is edited by others; once it
// uses raft.TestNetwork directly, this file goes.

import (
	"testing"

	"github.com/quorate/raft"
)

// cluster is a raft.TestNetwork of clusterNodes.
type cluster struct {
	*raft.TestNetwork
	nodes map[uint64]*clusterNode
}

// clusterNode is a raft.TestNode with the fields bench_test.go reads.
type clusterNode struct {
	*raft.TestNode
	t       testing.TB
	id      uint64
	rn      *raft.RawNode
	storage *raft.MemoryStorage
	// recordApplied, when cleared, makes the node count what it applies
	// without keeping it.
	recordApplied bool
	appliedIndex  uint64
	readCount     int
}

// newCluster connects size voters with IDs 1..size, built with opts.
func newCluster(t testing.TB, size int, opts ...nodeOption) *cluster {
	t.Helper()
	c := &cluster{TestNetwork: newBootNetwork(t, size, opts...), nodes: make(map[uint64]*clusterNode)}
	for _, id := range c.IDs() {
		n := c.Node(id)
		c.nodes[id] = &clusterNode{TestNode: n, t: t, id: id, storage: n.Storage(), recordApplied: true}
		c.nodes[id].pull()
	}
	return c
}

func (c *cluster) node(id uint64) *clusterNode { return c.nodes[id] }

// campaign makes node id campaign and lets the cluster settle.
func (c *cluster) campaign(id uint64) {
	c.push()
	c.Campaign(id)
	c.pull()
}

// stabilize handles every live node's Readies and delivers what results
// until the cluster is quiet.
func (c *cluster) stabilize() {
	c.push()
	c.Flush()
	c.pull()
}

func (c *cluster) push() {
	for _, n := range c.nodes {
		n.push()
	}
}

func (c *cluster) pull() {
	for _, n := range c.nodes {
		n.pull()
	}
}

// handleReady handles one Ready and returns it.
func (n *clusterNode) handleReady() raft.Ready {
	n.push()
	rd := n.HandleReady()
	n.pull()
	return rd
}

func (n *clusterNode) status() raft.BasicStatus { return n.BasicStatus() }

func (n *clusterNode) check(err error) {
	if err != nil {
		n.t.Fatalf("node %d: %v", n.id, err)
	}
}

// push hands recordApplied down to the TestNode.
func (n *clusterNode) push() {
	if !n.recordApplied {
		n.ForgetApplied()
	}
}

// pull refreshes the mirrored fields from the TestNode.
func (n *clusterNode) pull() {
	n.rn = n.RawNode
	n.appliedIndex = n.AppliedIndex()
	n.readCount = n.ReadCount()
}
