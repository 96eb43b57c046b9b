package compat

import (
	"fmt"

	etcd "go.etcd.io/raft/v3/raftpb"
)

// etcdPtrTo is ptrTo for v3.6's enums.
func etcdPtrTo(v any) any {
	switch v := v.(type) {
	case etcd.MessageType:
		return &v
	case etcd.EntryType:
		return &v
	case etcd.ConfChangeType:
		return &v
	case etcd.ConfChangeTransition:
		return &v
	}
	panic(fmt.Sprintf("not a raftpb enum: %T", v))
}
