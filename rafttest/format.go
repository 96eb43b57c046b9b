package rafttest

import (
	"strconv"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// formatData renders entry data and request contexts as Go-quoted strings,
// which is how scenario files write them.
func formatData(data []byte) string {
	return strconv.Quote(string(data))
}

// describeMessage is raft.DescribeMessage without the attached
// responses, which printMessage lists on lines of their own.
func describeMessage(m pb.Message) string {
	m.Responses = nil
	return raft.DescribeMessage(m, formatData)
}

// printMessage prints m on one line, and the responses it carries (those
// of MsgStorageAppend and MsgStorageApply) indented below it.
func (env *InteractionEnv) printMessage(m pb.Message) {
	env.out.printf("%s", describeMessage(m))
	if len(m.Responses) == 0 {
		return
	}
	env.out.nest(func() {
		env.out.printf("Responses:")
		for _, r := range m.Responses {
			env.out.printf("%s", describeMessage(r))
		}
	})
}

// printReady prints each part of rd that is set, one item per line.
func (env *InteractionEnv) printReady(rd raft.Ready) {
	o := env.out
	if rd.MustSync {
		o.printf("Ready MustSync=true:")
	} else {
		o.printf("Ready MustSync=false:")
	}
	if rd.SoftState != nil {
		o.printf("%s", raft.DescribeSoftState(*rd.SoftState))
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		o.printf("HardState %s", raft.DescribeHardState(rd.HardState))
	}
	if len(rd.ReadStates) > 0 {
		o.printf("ReadStates:")
		o.nest(func() {
			for _, rs := range rd.ReadStates {
				o.printf("Index:%d RequestCtx:%s", rs.Index, formatData(rs.RequestCtx))
			}
		})
	}
	env.printEntries("Entries:", rd.Entries)
	if !raft.IsEmptySnap(rd.Snapshot) {
		o.printf("Snapshot %s", raft.DescribeSnapshot(rd.Snapshot))
	}
	env.printEntries("CommittedEntries:", rd.CommittedEntries)
	if len(rd.Messages) > 0 {
		o.printf("Messages:")
		o.nest(func() {
			for _, m := range rd.Messages {
				env.printMessage(m)
			}
		})
	}
}

// printEntries prints title and then ents, one per line, if there are
// any.
func (env *InteractionEnv) printEntries(title string, ents []pb.Entry) {
	if len(ents) == 0 {
		return
	}
	env.out.printf("%s", title)
	env.out.nest(func() {
		for _, e := range ents {
			env.out.printf("%s", raft.DescribeEntry(e, formatData))
		}
	})
}
