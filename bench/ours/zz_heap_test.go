package suite

import (
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/quorate/raft"
)

func TestZZHeap(t *testing.T) {
	for _, leader := range []bool{true, false} {
		runtime.MemProfileRate = 1
		groups := make([]*raft.RawNode, 2000)
		before := liveHeap()
		buildIdleGroups(t, groups, leader, liveTicks)
		after := liveHeap()
		t.Logf("leader=%v retained %d B/group", leader, (after-before)/2000)
		f, _ := os.Create("/tmp/heap-" + roleName(leader) + ".out")
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
		runtime.KeepAlive(groups)
	}
}
