package rafttest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
	pb "github.com/quorate/raft/raftpb"
)

// handleProcessAppendThread parses
//
//	process-append-thread <id>... [count=<n>]
//
// and runs the append thread of each named node (see ProcessAppendThread).
func handleProcessAppendThread(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	count := -1
	d.MaybeScanArgs(t, "count", &count)
	for _, id := range nodeIDs(env, t, d) {
		if err := env.ProcessAppendThread(id, count); err != nil {
			return err
		}
	}
	return nil
}

// ProcessAppendThread plays the append thread of a node with
// AsyncStorageWrites: it takes the first count queued MsgStorageAppend
// messages (all of them when count < 0), persists what each carries and
// then queues the responses attached to it. The responses include the
// acknowledgement to the node itself (MsgStorageAppendResp) and the
// messages that may only leave once the write is durable, such as a
// follower's MsgAppResp or a vote.
func (env *InteractionEnv) ProcessAppendThread(id uint64, count int) error {
	return env.runStorageThread(id, count, "append", func(n *Node) *[]pb.Message { return &n.AppendWork },
		func(n *Node, m pb.Message) error {
			return n.persist(pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}, m.Entries, m.Snapshot)
		})
}

// runStorageThread plays one storage thread of node id: it takes the first
// count messages of the node's queue (all of them when count < 0), does each
// one's work and then queues the responses attached to it, printing as it
// goes.
func (env *InteractionEnv) runStorageThread(id uint64, count int, thread string,
	queue func(*Node) *[]pb.Message, do func(*Node, pb.Message) error) error {
	n, err := env.node(id)
	if err != nil {
		return err
	}
	work := takeWork(queue(n), count)
	env.out.printf("> %d processing %s thread", id, thread)
	env.out.indent++
	defer func() { env.out.indent-- }()
	if len(work) == 0 {
		env.out.printf("<no work>")
		return nil
	}
	for _, m := range work {
		env.out.printf("Processing:")
		env.out.nest(func() { env.out.printf("%s", describeMessage(m)) })
		if err := do(n, m); err != nil {
			return err
		}
		env.printResponses(m.Responses)
		env.send(m.Responses...)
	}
	return nil
}

// takeWork removes and returns the first count messages of *queue, or all
// of them when count < 0 or exceeds the queue.
func takeWork(queue *[]pb.Message, count int) []pb.Message {
	if count < 0 || count > len(*queue) {
		count = len(*queue)
	}
	work := (*queue)[:count:count]
	*queue = (*queue)[count:]
	return work
}

// printResponses lists the responses a storage thread queues once it has
// done its work, if there are any.
func (env *InteractionEnv) printResponses(resps []pb.Message) {
	if len(resps) == 0 {
		return
	}
	env.out.printf("Responses:")
	env.out.nest(func() {
		for _, r := range resps {
			env.out.printf("%s", describeMessage(r))
		}
	})
}
