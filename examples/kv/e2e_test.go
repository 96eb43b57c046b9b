//go:build unix

package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The end-to-end tests run the service as separate processes of the real
// binary, built once (with -race when the tests run with it).

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// kvBinary builds this command and returns the binary's path.
func kvBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "kv-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "kv")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", append(args, ".")...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestTour runs the README's first command, the tour, and expects it to
// pass.
func TestTour(t *testing.T) {
	bin := kvBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*tourTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-tour")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Tour complete") {
		t.Fatalf("kv -tour: %v; output:\n%s", err, out)
	}
	t.Logf("kv -tour:\n%s", out)
}

// kvInput and kvOutput are the operations of the linearizability model.
type kvInput struct {
	Op    string // "get", "put" or "delete"
	Key   string
	Value string // of a put
}

type kvOutput struct {
	Value string
	Found bool
}

// kvModelState is the model's state for one key.
type kvModelState struct {
	Value string
	Found bool
}

// kvModel is a key-value map, partitioned by key: a get returns what the
// last put set, or nothing after a delete.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(kvInput).Key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return kvModelState{} },
	Step: func(state, input, output any) (bool, any) {
		st, in := state.(kvModelState), input.(kvInput)
		switch in.Op {
		case "put":
			return true, kvModelState{Value: in.Value, Found: true}
		case "delete":
			return true, kvModelState{}
		default:
			out := output.(kvOutput)
			return out.Found == st.Found && out.Value == st.Value, st
		}
	},
	DescribeOperation: func(input, output any) string {
		in := input.(kvInput)
		switch in.Op {
		case "put":
			return fmt.Sprintf("put(%s, %s)", in.Key, in.Value)
		case "delete":
			return fmt.Sprintf("delete(%s)", in.Key)
		}
		out := output.(kvOutput)
		if !out.Found {
			return fmt.Sprintf("get(%s) -> none", in.Key)
		}
		return fmt.Sprintf("get(%s) -> %s", in.Key, out.Value)
	},
}

// history records the operations clients saw, for porcupine.
type history struct {
	t0 time.Time
	mu sync.Mutex
	// ops holds every get that answered and every write that was
	// acknowledged, or whose outcome is unknown: such a write returns at
	// math.MaxInt64, since it may take effect at any time after its call.
	// Writes that certainly had no effect are left out.
	ops []porcupine.Operation
	// acked maps the unique keys of acknowledged writes to their values.
	acked map[string]string
	// writes counts acknowledged writes by when they were called.
	ackedAt []int64
	unknown int
}

func (h *history) now() int64 { return int64(time.Since(h.t0)) }

func (h *history) add(client int, in kvInput, out kvOutput, call, ret int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// write records a put or delete called at call that returned err.
func (h *history) write(client int, in kvInput, call int64, err error, unique bool) {
	switch {
	case err == nil:
		h.add(client, in, kvOutput{}, call, h.now())
		h.mu.Lock()
		h.ackedAt = append(h.ackedAt, call)
		if unique {
			h.acked[in.Key] = in.Value
		}
		h.mu.Unlock()
	case noEffect(err):
	default:
		h.add(client, in, kvOutput{}, call, math.MaxInt64)
		h.mu.Lock()
		h.unknown++
		h.mu.Unlock()
	}
}

// contendedKeys are the keys every client reads and writes.
var contendedKeys = []string{"a", "b", "c", "d", "e", "f"}

// runClient issues random operations through random nodes until stop is
// set: puts and deletes of the contended keys, linearizable gets of them,
// and puts of keys of its own that are never overwritten.
func runClient(ctx context.Context, id int, c *procCluster, cl *client, h *history, stop *atomic.Bool) {
	rng := rand.New(rand.NewPCG(uint64(id), 0x6b76))
	nodes := []uint64{1, 2, 3}
	for n := 0; !stop.Load() && ctx.Err() == nil; n++ {
		url := c.procs[nodes[rng.IntN(len(nodes))]].url()
		key := contendedKeys[rng.IntN(len(contendedKeys))]
		call := h.now()
		switch r := rng.IntN(100); {
		case r < 30:
			in := kvInput{Op: "put", Key: key, Value: fmt.Sprintf("%d.%d", id, n)}
			_, err := cl.put(ctx, url, in.Key, in.Value)
			h.write(id, in, call, err, false)
		case r < 40:
			in := kvInput{Op: "delete", Key: key}
			_, err := cl.del(ctx, url, key)
			h.write(id, in, call, err, false)
		case r < 80:
			value, found, err := cl.get(ctx, url, key, false)
			if err == nil {
				h.add(id, kvInput{Op: "get", Key: key}, kvOutput{Value: value, Found: found}, call, h.now())
			}
		default:
			in := kvInput{Op: "put", Key: fmt.Sprintf("u%d.%d", id, n), Value: fmt.Sprint(n)}
			_, err := cl.put(ctx, url, in.Key, in.Value)
			h.write(id, in, call, err, true)
		}
	}
}

// TestEndToEnd runs three nodes as processes on loopback ports, writes and
// reads from several clients at once, kills the leader with SIGKILL, keeps
// going, restarts it, and then checks that every acknowledged write is on
// every node and that what the clients saw is linearizable.
func TestEndToEnd(t *testing.T) {
	bin := kvBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	began := time.Now()

	c, err := newProcCluster(bin, t.TempDir(), 3, "-snapshot-entries", "200", "-catch-up-entries", "50")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.close()
		if t.Failed() {
			t.Logf("what the nodes logged last:\n%s", c.logTails(40))
		}
	})
	for id := uint64(1); id <= 3; id++ {
		if _, err := c.start(id, false); err != nil {
			t.Fatal(err)
		}
	}
	cl := &client{hc: &http.Client{Timeout: 15 * time.Second}}
	lead, err := c.waitLeader(ctx, cl, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}

	h := &history{t0: time.Now(), acked: map[string]string{}}
	var stop atomic.Bool
	var clients sync.WaitGroup
	const nclients = 6
	for id := range nclients {
		clients.Go(func() { runClient(ctx, id, c, cl, h, &stop) })
	}
	pause := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	pause(4 * time.Second)
	killedAt := h.now()
	c.procs[lead].kill()
	t.Logf("killed the leader, node %d, with SIGKILL after %.1fs of load", lead, time.Duration(killedAt).Seconds())
	pause(5 * time.Second)
	restartedAt := h.now()
	if err := c.restart(lead); err != nil {
		t.Fatal(err)
	}
	pause(4 * time.Second)
	stop.Store(true)
	clients.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the load ran out of time: %v", ctx.Err())
	}

	h.mu.Lock()
	var duringOutage, afterRestart int
	for _, call := range h.ackedAt {
		switch {
		case call > killedAt && call < restartedAt:
			duringOutage++
		case call > restartedAt:
			afterRestart++
		}
	}
	t.Logf("%d operations recorded: %d writes acknowledged (%d while node %d was down, %d after it restarted), %d with unknown outcome",
		len(h.ops), len(h.ackedAt), duringOutage, lead, afterRestart, h.unknown)
	h.mu.Unlock()
	if duringOutage == 0 || afterRestart == 0 {
		t.Errorf("acknowledged writes: %d while the old leader was down, %d after it restarted; want some in both", duringOutage, afterRestart)
	}

	t.Run("every acknowledged write is on every node", func(t *testing.T) {
		newLead, err := c.waitLeader(ctx, cl, 1, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		st, err := cl.status(ctx, c.procs[newLead].url())
		if err != nil {
			t.Fatal(err)
		}
		for id := uint64(1); id <= 3; id++ {
			if _, err := c.waitApplied(ctx, cl, id, st.Commit, nil); err != nil {
				t.Fatal(err)
			}
			for key, want := range h.acked {
				got, found, err := cl.get(ctx, c.procs[id].url(), key, true)
				if err != nil || !found || got != want {
					t.Errorf("node %d: GET %s = %q, found %v, %v; want %q", id, key, got, found, err, want)
				}
			}
		}
		t.Logf("all %d acknowledged writes of unique keys are on nodes 1, 2 and 3", len(h.acked))
	})

	t.Run("the history is linearizable", func(t *testing.T) {
		// A last linearizable read of every contended key, from every
		// node, ends the history.
		for id := uint64(1); id <= 3; id++ {
			for _, key := range contendedKeys {
				call := h.now()
				value, found, err := cl.get(ctx, c.procs[id].url(), key, false)
				if err != nil {
					t.Fatalf("final GET %s from node %d: %v", key, id, err)
				}
				h.add(100+int(id), kvInput{Op: "get", Key: key}, kvOutput{Value: value, Found: found}, call, h.now())
			}
		}
		res, info := porcupine.CheckOperationsVerbose(kvModel, h.ops, 30*time.Second)
		if res != porcupine.Ok {
			path := filepath.Join(os.TempDir(), fmt.Sprintf("kv-history-%d.html", time.Now().UnixNano()))
			if err := porcupine.VisualizePath(kvModel, info, path); err != nil {
				t.Logf("writing the visualization: %v", err)
			}
			t.Fatalf("porcupine says %s for %d operations; the history is drawn in %s", res, len(h.ops), path)
		}
	})

	t.Run("the nodes stop cleanly", func(t *testing.T) {
		for _, id := range []uint64{1, 2, 3} {
			if err := c.procs[id].stop(10 * time.Second); err != nil {
				t.Error(err)
			}
		}
	})
	t.Logf("end-to-end run took %.1fs", time.Since(began).Seconds())
}
