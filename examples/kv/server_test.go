package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCluster runs nodes of the service inside the test's process, each on
// its own loopback listeners and data directory. A node stopped and started
// again keeps its addresses and its data.
type testCluster struct {
	t   *testing.T
	dir string
	// cfg holds the settings every node shares.
	cfg serverConfig
	// initial maps the initial members to their raft addresses.
	initial map[uint64]string
	// raftAddrs and httpAddrs hold every node's addresses.
	raftAddrs map[uint64]string
	httpAddrs map[uint64]string
	// nodes holds the running nodes.
	nodes map[uint64]*server
	cl    *client
	logs  *syncBuffer
}

// syncBuffer collects the nodes' logs, shown when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// testConfig is fast enough for tests and slow enough for a busy machine
// under the race detector: half-second election timeouts.
func testConfig() serverConfig {
	return serverConfig{
		ClusterID:       0x7e57,
		TickInterval:    50 * time.Millisecond,
		ElectionTicks:   10,
		SnapshotEntries: 10000,
		CatchUpEntries:  100,
		RequestTimeout:  5 * time.Second,
		RetryInterval:   500 * time.Millisecond,
	}
}

// newTestCluster starts n initial members with IDs 1 to n. tune, if not
// nil, adjusts the shared settings first.
func newTestCluster(t *testing.T, n int, tune func(*serverConfig)) *testCluster {
	t.Helper()
	tc := &testCluster{
		t:         t,
		dir:       t.TempDir(),
		cfg:       testConfig(),
		initial:   map[uint64]string{},
		raftAddrs: map[uint64]string{},
		httpAddrs: map[uint64]string{},
		nodes:     map[uint64]*server{},
		cl:        &client{hc: &http.Client{Timeout: 20 * time.Second}},
		logs:      &syncBuffer{},
	}
	if tune != nil {
		tune(&tc.cfg)
	}
	t.Cleanup(func() {
		for _, s := range tc.nodes {
			s.stop()
		}
		if t.Failed() {
			t.Logf("the nodes' last log lines:\n%s", tc.logs.tail(60))
		}
	})
	for id := uint64(1); id <= uint64(n); id++ {
		addr, err := freeLoopbackAddr()
		if err != nil {
			t.Fatal(err)
		}
		tc.initial[id] = addr
	}
	for id := uint64(1); id <= uint64(n); id++ {
		tc.start(id, false)
	}
	return tc
}

// start starts node id: for the first time (an initial member, or with
// join a new node talking to the others), or again from its data.
func (tc *testCluster) start(id uint64, join bool) {
	tc.t.Helper()
	if _, ok := tc.nodes[id]; ok {
		tc.t.Fatalf("node %d is running", id)
	}
	if tc.raftAddrs[id] == "" {
		tc.raftAddrs[id] = tc.initial[id]
		if join {
			var err error
			if tc.raftAddrs[id], err = freeLoopbackAddr(); err != nil {
				tc.t.Fatal(err)
			}
		}
	}
	cfg := tc.cfg
	cfg.ID, cfg.Join = id, join
	cfg.Dir = filepath.Join(tc.dir, fmt.Sprintf("node-%d", id))
	cfg.Peers = tc.initial
	if join {
		cfg.Peers = map[uint64]string{}
		for pid, addr := range tc.raftAddrs {
			if pid != id {
				cfg.Peers[pid] = addr
			}
		}
	}
	cfg.Logger = nodeLogger(tc.logs, id)
	var err error
	if cfg.RaftListener, err = net.Listen("tcp", tc.raftAddrs[id]); err != nil {
		tc.t.Fatal(err)
	}
	httpAddr := tc.httpAddrs[id]
	if httpAddr == "" {
		httpAddr = "127.0.0.1:0"
	}
	if cfg.HTTPListener, err = net.Listen("tcp", httpAddr); err != nil {
		tc.t.Fatal(err)
	}
	tc.httpAddrs[id] = cfg.HTTPListener.Addr().String()
	s, err := startServer(cfg)
	if err != nil {
		tc.t.Fatalf("starting node %d: %v", id, err)
	}
	tc.nodes[id] = s
}

// stop stops node id, keeping its data.
func (tc *testCluster) stop(id uint64) {
	tc.nodes[id].stop()
	delete(tc.nodes, id)
}

func (tc *testCluster) url(id uint64) string { return "http://" + tc.httpAddrs[id] }

// ctx returns a context that ends after d, and with the test.
func (tc *testCluster) ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tc.t.Cleanup(cancel)
	return ctx
}

// waitLeader waits until one of the running nodes ids leads, and returns
// it.
func (tc *testCluster) waitLeader(ctx context.Context, ids ...uint64) uint64 {
	tc.t.Helper()
	for {
		for _, id := range ids {
			if s := tc.nodes[id]; s != nil && s.status().Role == "leader" {
				return id
			}
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			tc.t.Fatalf("no leader among nodes %v: %v", ids, ctx.Err())
		}
	}
}

// waitApplied waits until node id has applied index, and returns its
// status.
func (tc *testCluster) waitApplied(ctx context.Context, id, index uint64) statusResponse {
	tc.t.Helper()
	for {
		st := tc.nodes[id].status()
		if st.Applied >= index {
			return st
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			tc.t.Fatalf("node %d applied %d, want %d: %v", id, st.Applied, index, ctx.Err())
		}
	}
}

// follower returns a running node of ids other than lead.
func (tc *testCluster) follower(lead uint64, ids ...uint64) uint64 {
	for _, id := range ids {
		if id != lead && tc.nodes[id] != nil {
			return id
		}
	}
	tc.t.Fatalf("no running node among %v but the leader %d", ids, lead)
	return 0
}

// mustPut writes key=value through node id.
func (tc *testCluster) mustPut(ctx context.Context, id uint64, key, value string) uint64 {
	tc.t.Helper()
	index, err := tc.cl.put(ctx, tc.url(id), key, value)
	if err != nil {
		tc.t.Fatalf("PUT %s through node %d: %v", key, id, err)
	}
	return index
}

// expect reads key from node id and checks the answer.
func (tc *testCluster) expect(ctx context.Context, id uint64, key, want string, wantFound, stale bool) {
	tc.t.Helper()
	got, found, err := tc.cl.get(ctx, tc.url(id), key, stale)
	if err != nil {
		tc.t.Fatalf("GET %s from node %d (stale %v): %v", key, id, stale, err)
	}
	if found != wantFound || got != want {
		tc.t.Errorf("GET %s from node %d (stale %v) = %q, found %v; want %q, found %v", key, id, stale, got, found, want, wantFound)
	}
}

func TestReadsAndWrites(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	ctx := tc.ctx(30 * time.Second)
	lead := tc.waitLeader(ctx, 1, 2, 3)
	f := tc.follower(lead, 1, 2, 3)

	t.Run("a write through a follower is read everywhere", func(t *testing.T) {
		tc.mustPut(ctx, f, "color", "blue")
		// The node that took the write answered once it applied it.
		tc.expect(ctx, f, "color", "blue", true, true)
		for _, id := range []uint64{1, 2, 3} {
			tc.expect(ctx, id, "color", "blue", true, false)
		}
	})
	t.Run("an overwrite through the leader is read everywhere", func(t *testing.T) {
		tc.mustPut(ctx, lead, "color", "green")
		for _, id := range []uint64{1, 2, 3} {
			tc.expect(ctx, id, "color", "green", true, false)
		}
	})
	t.Run("a delete is read everywhere", func(t *testing.T) {
		if _, err := tc.cl.del(ctx, tc.url(f), "color"); err != nil {
			t.Fatalf("DELETE: %v", err)
		}
		for _, id := range []uint64{1, 2, 3} {
			tc.expect(ctx, id, "color", "", false, false)
		}
	})
	t.Run("empty values and escaped keys", func(t *testing.T) {
		tc.mustPut(ctx, f, "a key/with slash?", "")
		tc.expect(ctx, lead, "a key/with slash?", "", true, false)
	})
	t.Run("concurrent writers through every node", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 30)
		for i := range 30 {
			wg.Go(func() {
				id := uint64(i%3 + 1)
				if _, err := tc.cl.put(ctx, tc.url(id), fmt.Sprintf("c%d", i), fmt.Sprint(i)); err != nil {
					errs <- fmt.Errorf("PUT c%d through node %d: %w", i, id, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for i := range 30 {
			tc.expect(ctx, uint64(i%3+1), fmt.Sprintf("c%d", i), fmt.Sprint(i), true, false)
		}
	})
}

func TestRestartFromDataDirectories(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	ctx := tc.ctx(40 * time.Second)
	lead := tc.waitLeader(ctx, 1, 2, 3)
	for i := range 20 {
		tc.mustPut(ctx, lead, fmt.Sprintf("k%d", i), fmt.Sprint(i))
	}
	before := tc.nodes[lead].status()
	for _, id := range []uint64{1, 2, 3} {
		tc.stop(id)
	}
	for _, id := range []uint64{1, 2, 3} {
		tc.start(id, false)
	}
	lead = tc.waitLeader(ctx, 1, 2, 3)
	if st := tc.nodes[lead].status(); st.Term <= before.Term || st.LastIndex < before.LastIndex {
		t.Errorf("after the restart the leader is at term %d with last index %d; want past term %d and at least index %d",
			st.Term, st.LastIndex, before.Term, before.LastIndex)
	}
	for i := range 20 {
		tc.expect(ctx, uint64(i%3+1), fmt.Sprintf("k%d", i), fmt.Sprint(i), true, false)
	}
	tc.mustPut(ctx, tc.follower(lead, 1, 2, 3), "after", "restart")
	tc.expect(ctx, lead, "after", "restart", true, false)
}

func TestCatchUpBySnapshot(t *testing.T) {
	tc := newTestCluster(t, 3, func(c *serverConfig) {
		c.SnapshotEntries = 20
		c.CatchUpEntries = 5
	})
	ctx := tc.ctx(40 * time.Second)
	lead := tc.waitLeader(ctx, 1, 2, 3)
	down := tc.follower(lead, 1, 2, 3)
	tc.mustPut(ctx, lead, "first", "1")
	behind := tc.waitApplied(ctx, down, tc.nodes[lead].status().Commit)
	tc.stop(down)

	const writes = 80
	for i := range writes {
		tc.mustPut(ctx, lead, fmt.Sprintf("k%02d", i), fmt.Sprint(i))
	}
	st := tc.nodes[lead].status()
	if st.FirstIndex <= behind.LastIndex+1 {
		t.Fatalf("the leader keeps entries from %d; want it compacted past %d, the stopped node's last entry", st.FirstIndex, behind.LastIndex)
	}

	tc.start(down, false)
	got := tc.waitApplied(ctx, down, st.Commit)
	if got.SnapshotsReceived == 0 || got.SnapshotIndex <= behind.LastIndex {
		t.Errorf("the restarted node received %d snapshots, its latest at index %d; want one past its old last index %d",
			got.SnapshotsReceived, got.SnapshotIndex, behind.LastIndex)
	}
	tc.expect(ctx, down, "first", "1", true, true)
	for i := range writes {
		tc.expect(ctx, down, fmt.Sprintf("k%02d", i), fmt.Sprint(i), true, true)
	}
}

func TestMembershipChanges(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	ctx := tc.ctx(60 * time.Second)
	lead := tc.waitLeader(ctx, 1, 2, 3)
	tc.mustPut(ctx, lead, "before", "4")
	tc.start(4, true)

	t.Run("add a learner", func(t *testing.T) {
		res, err := tc.cl.changeMembers(ctx, tc.url(tc.follower(lead, 1, 2, 3)),
			memberChange{Op: memberAddLearner, ID: 4, Addr: tc.raftAddrs[4]})
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(res.Conf.Voters, []uint64{1, 2, 3}) || !sameIDs(res.Conf.Learners, []uint64{4}) {
			t.Fatalf("configuration %+v, want voters 1 2 3 and learner 4", res.Conf)
		}
		st := tc.waitApplied(ctx, 4, res.Index)
		if st.Members[1] != tc.raftAddrs[1] || st.Members[4] != tc.raftAddrs[4] {
			t.Errorf("node 4 knows members %v, want the addresses of 1 to 4", st.Members)
		}
		tc.expect(ctx, 4, "before", "4", true, true)
	})
	t.Run("promote it and remove a voter by joint consensus", func(t *testing.T) {
		via := tc.follower(3, 1, 2)
		res, err := tc.cl.changeMembers(ctx, tc.url(via),
			memberChange{Op: memberPromote, ID: 4}, memberChange{Op: memberRemove, ID: 3})
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(res.Conf.Voters, []uint64{1, 2, 4}) || len(res.Conf.VotersOutgoing)+len(res.Conf.Learners) != 0 {
			t.Fatalf("configuration %+v, want voters 1 2 4 and nothing else", res.Conf)
		}
		// The change was applied in two steps: into the joint configuration
		// and out of it.
		st := tc.waitApplied(ctx, via, res.Index+1)
		if !sameIDs(st.Conf.Voters, []uint64{1, 2, 4}) {
			t.Errorf("node %d applied configuration %+v, want voters 1 2 4", via, st.Conf)
		}
		var peers []uint64
		for _, p := range st.Peers {
			peers = append(peers, p.ID)
		}
		if want := slices.DeleteFunc([]uint64{1, 2, 4}, func(id uint64) bool { return id == via }); !slices.Equal(peers, want) {
			t.Errorf("node %d's transport has peers %v, want %v", via, peers, want)
		}
		if _, ok := st.Members[3]; ok {
			t.Errorf("node %d still lists node 3 among the members %v", via, st.Members)
		}
		tc.stop(3)
		lead = tc.waitLeader(ctx, 1, 2, 4)
		tc.mustPut(ctx, 4, "after", "joint")
		tc.expect(ctx, tc.follower(4, 1, 2), "after", "joint", true, false)
	})
	t.Run("remove a node alone", func(t *testing.T) {
		res, err := tc.cl.changeMembers(ctx, tc.url(1), memberChange{Op: memberRemove, ID: 4})
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(res.Conf.Voters, []uint64{1, 2}) {
			t.Fatalf("configuration %+v, want voters 1 2", res.Conf)
		}
		tc.stop(4)
		lead = tc.waitLeader(ctx, 1, 2)
		tc.mustPut(ctx, 2, "two", "left")
		tc.expect(ctx, 1, "two", "left", true, false)
	})
	t.Run("malformed requests change nothing", func(t *testing.T) {
		before := tc.nodes[1].status().Conf
		for name, body := range map[string]string{
			"not JSON":            `add 5`,
			"no changes":          `{"changes":[]}`,
			"unknown field":       `{"changes":[{"op":"add","id":5,"addr":"127.0.0.1:1"}],"force":true}`,
			"unknown operation":   `{"changes":[{"op":"replace","id":5}]}`,
			"node 0":              `{"changes":[{"op":"add-learner","id":0,"addr":"127.0.0.1:1"}]}`,
			"new node, no addr":   `{"changes":[{"op":"add-learner","id":5}]}`,
			"address, no port":    `{"changes":[{"op":"add-learner","id":5,"addr":"127.0.0.1"}]}`,
			"promote a stranger":  `{"changes":[{"op":"promote","id":5}]}`,
			"remove a stranger":   `{"changes":[{"op":"remove","id":5}]}`,
			"the same node twice": `{"changes":[{"op":"remove","id":2},{"op":"remove","id":2}]}`,
		} {
			resp, err := tc.cl.hc.Post(tc.url(1)+"/members", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want %d", name, resp.StatusCode, http.StatusBadRequest)
			}
		}
		if after := tc.nodes[1].status().Conf; !sameIDs(after.Voters, before.Voters) || len(after.Learners) != 0 {
			t.Errorf("configuration went from %+v to %+v, want it unchanged", before, after)
		}
	})
}

func TestOutcomeUnknownWithoutQuorum(t *testing.T) {
	tc := newTestCluster(t, 3, func(c *serverConfig) { c.RequestTimeout = 1500 * time.Millisecond })
	ctx := tc.ctx(30 * time.Second)
	lead := tc.waitLeader(ctx, 1, 2, 3)
	tc.mustPut(ctx, lead, "k", "v")
	tc.waitApplied(ctx, 1, tc.nodes[lead].status().Commit)
	tc.stop(2)
	tc.stop(3)

	t.Run("a write", func(t *testing.T) {
		_, err := tc.cl.put(ctx, tc.url(1), "k", "w")
		var se *statusError
		if !errors.As(err, &se) || se.code != http.StatusGatewayTimeout || !strings.Contains(se.msg, "outcome unknown") {
			t.Errorf("PUT without a quorum: %v; want 504 saying the outcome is unknown", err)
		}
	})
	t.Run("a linearizable read", func(t *testing.T) {
		_, _, err := tc.cl.get(ctx, tc.url(1), "k", false)
		var se *statusError
		if !errors.As(err, &se) || se.code != http.StatusGatewayTimeout || !strings.Contains(se.msg, "outcome unknown") {
			t.Errorf("GET without a quorum: %v; want 504 saying the outcome is unknown", err)
		}
	})
	t.Run("a stale read", func(t *testing.T) {
		tc.expect(ctx, 1, "k", "v", true, true)
	})
	t.Run("the quorum back, the write may have happened", func(t *testing.T) {
		tc.start(2, false)
		tc.waitLeader(ctx, 1, 2)
		got, _, err := tc.cl.get(ctx, tc.url(2), "k", false)
		if err != nil || got != "v" && got != "w" {
			t.Errorf("GET k = %q, %v; want v or w", got, err)
		}
	})
}

func TestHTTPRequests(t *testing.T) {
	tc := newTestCluster(t, 1, nil)
	ctx := tc.ctx(20 * time.Second)
	tc.waitLeader(ctx, 1)
	tc.mustPut(ctx, 1, "k", "v")
	for _, c := range []struct {
		name, method, path string
		body               []byte
		want               int
	}{
		{"read", http.MethodGet, "/keys/k", nil, http.StatusOK},
		{"stale read", http.MethodGet, "/keys/k?stale=true", nil, http.StatusOK},
		{"stale=false", http.MethodGet, "/keys/k?stale=false", nil, http.StatusOK},
		{"missing key", http.MethodGet, "/keys/nothing", nil, http.StatusNotFound},
		{"stale=maybe", http.MethodGet, "/keys/k?stale=maybe", nil, http.StatusBadRequest},
		{"value too large", http.MethodPut, "/keys/big", make([]byte, maxValueBytes+1), http.StatusBadRequest},
		{"value at the limit", http.MethodPut, "/keys/big", make([]byte, maxValueBytes), http.StatusOK},
		{"no key", http.MethodPut, "/keys/", []byte("v"), http.StatusNotFound},
		{"POST to a key", http.MethodPost, "/keys/k", []byte("v"), http.StatusMethodNotAllowed},
		{"status", http.MethodGet, "/status", nil, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, c.method, tc.url(1)+c.path, bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tc.cl.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.want)
			}
		})
	}
	t.Run("status fields", func(t *testing.T) {
		st, err := tc.cl.status(ctx, tc.url(1))
		if err != nil {
			t.Fatal(err)
		}
		if st.ID != 1 || st.Role != "leader" || st.Leader != 1 || st.Applied < 2 || st.Commit < st.Applied || st.Keys != 2 {
			t.Errorf("status %+v; want node 1 leading, with 2 keys applied", st)
		}
	})
}

func TestLocalCluster(t *testing.T) {
	lc, err := startLocal(testConfig(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lc.stop()
	cl := &client{hc: &http.Client{Timeout: 20 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cl.put(ctx, lc.url(0), "hello", "world"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if got, _, err := cl.get(ctx, lc.url(i), "hello", false); err != nil || got != "world" {
			t.Errorf("GET hello from node %d = %q, %v; want world", i+1, got, err)
		}
	}
	if err := lc.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lc.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after stop, the data directory %s: %v; want it removed", lc.dir, err)
	}
}
