package rafttest

import (
	"slices"
	"testing"

	"github.com/cockroachdb/datadriven"
	pb "github.com/quorate/raft/raftpb"
)

// handleDeliverMsgs parses
//
//	deliver-msgs [<id>...] [drop=(<id>, ...)] [type=<MessageType>] [from=<id>]
//	    [count=<n>]
//
// It drops the queued messages addressed to the nodes in drop, then
// delivers those addressed to the positional nodes, each node's messages
// in the order they were sent. With neither, every queued message is
// delivered. type and from restrict both to messages of that type, or
// from that sender, and count to the first n such messages per node; the
// others stay queued.
func handleDeliverMsgs(env *InteractionEnv, t *testing.T, d *datadriven.TestData) error {
	t.Helper()
	var filter msgFilter
	if arg, ok := d.Arg("type"); ok {
		v, ok := pb.MessageType_value[arg.SingleVal(t)]
		if !ok {
			t.Fatalf("%s: deliver-msgs: unknown message type %q", d.Pos, arg.Vals[0])
		}
		typ := pb.MessageType(v)
		filter.typ = &typ
	}
	if d.HasArg("from") {
		var from uint64
		d.ScanArgs(t, "from", &from)
		filter.from = &from
	}
	d.MaybeScanArgs(t, "count", &filter.count)
	drop := idList(t, d, "drop")
	for _, id := range drop {
		if _, err := env.node(id); err != nil {
			return err
		}
		filter.to = id
		for _, m := range env.takeMessages(filter) {
			env.out.printf("dropped: %s", describeMessage(m))
		}
	}
	var ids []uint64
	if len(positional(d)) > 0 || len(drop) == 0 {
		ids = nodeIDs(env, t, d)
	}
	for _, id := range ids {
		filter.to = id
		if _, err := env.DeliverMsgs(filter); err != nil {
			return err
		}
	}
	return nil
}

// msgFilter selects queued messages: those addressed to node to and, when
// typ or from are set, of that type and from that sender; when count > 0,
// only the first count of these.
type msgFilter struct {
	to    uint64
	typ   *pb.MessageType
	from  *uint64
	count int
}

func (f msgFilter) matches(m pb.Message) bool {
	return m.To == f.to && (f.typ == nil || m.Type == *f.typ) && (f.from == nil || m.From == *f.from)
}

// takeMessages removes the queued messages that f selects and returns
// them in the order they were sent.
func (env *InteractionEnv) takeMessages(f msgFilter) []pb.Message {
	var taken []pb.Message
	env.Messages = slices.DeleteFunc(env.Messages, func(m pb.Message) bool {
		if f.matches(m) && (f.count <= 0 || len(taken) < f.count) {
			taken = append(taken, m)
			return true
		}
		return false
	})
	return taken
}

// DeliverMsgs steps every queued message that f selects into its node, in
// the order they were sent, and returns how many it delivered. Each
// message is printed before it is stepped, so that what the node logs
// while handling it follows it. An error from Step is printed and the
// remaining messages are still delivered.
func (env *InteractionEnv) DeliverMsgs(f msgFilter) (int, error) {
	n, err := env.node(f.to)
	if err != nil {
		return 0, err
	}
	msgs := env.takeMessages(f)
	for _, m := range msgs {
		env.printMessage(m)
		if err := n.Step(m); err != nil {
			env.out.nest(func() { env.out.printf("error: %v", err) })
		}
	}
	return len(msgs), nil
}
