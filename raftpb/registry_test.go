package raftpb

import (
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"testing"

	gogoproto "github.com/gogo/protobuf/proto"
)

// TestRegistersInGogoRegistryOnly pins down why this package and
// go.etcd.io/raft/v3/raftpb can share a binary: the generated code must
// register through gogo's registry and must not import golang/protobuf,
// whose registry etcd-raft's raftpb uses.
func TestRegistersInGogoRegistryOnly(t *testing.T) {
	t.Run("generated code imports gogo proto only", func(t *testing.T) {
		f, err := parser.ParseFile(token.NewFileSet(), "raft.pb.go", nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		var gogo bool
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch path {
			case "github.com/gogo/protobuf/proto":
				gogo = true
			case "github.com/golang/protobuf/proto", "google.golang.org/protobuf/proto",
				"google.golang.org/protobuf/reflect/protoregistry":
				t.Errorf("raft.pb.go imports %s; it must register in gogo's registry only", path)
			}
		}
		if !gogo {
			t.Error("raft.pb.go does not import github.com/gogo/protobuf/proto")
		}
	})

	t.Run("types are found in gogo's registry", func(t *testing.T) {
		for name, want := range map[string]reflect.Type{
			"raftpb.Message":      reflect.TypeOf(&Message{}),
			"raftpb.Entry":        reflect.TypeOf(&Entry{}),
			"raftpb.ConfChangeV2": reflect.TypeOf(&ConfChangeV2{}),
		} {
			if got := gogoproto.MessageType(name); got != want {
				t.Errorf("gogo registry type of %s: got %v, want %v", name, got, want)
			}
		}
		if got := gogoproto.EnumValueMap("raftpb.MessageType")["MsgForgetLeader"]; got != int32(MsgForgetLeader) {
			t.Errorf("gogo enum value of MsgForgetLeader: got %d, want %d", got, MsgForgetLeader)
		}
	})
}
