// Command kv is a replicated key-value service built on quorate/raft: each
// node is a raft.Node whose log and snapshots live in a wal.Store, talking
// to its peers through a transport.Transport, and serving an HTTP API. It
// is meant to be read, run and copied.
//
// With no arguments it starts a three-node cluster in one process on
// loopback ports, prints the addresses and a few curl lines to try, and
// runs until interrupted (its data directory is removed then):
//
//	go run ./kv
//
// With -tour it runs a scripted tour instead: three nodes as processes of
// this program, writes and reads, a leader killed with SIGKILL and
// restarted (catching up by snapshot), a learner added and promoted while
// another node is removed in a joint-consensus change. It checks every
// step and exits 0 only if all passed, well within a minute:
//
//	go run ./kv -tour
//
// With -id it runs one node, for a cluster of processes:
//
//	kv -id 1 -peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 -http 127.0.0.1:8001 -data data-1
//
// The same -peers on every initial member names the cluster's founding
// configuration. A node with data in its directory restarts from it. To add
// a node, start it with -join (its -peers naming the current members and
// -raft its own address), then POST /members to any member.
//
// The HTTP API (see http.go): PUT, GET and DELETE /keys/{key} (GET is
// linearizable unless ?stale=true), POST /members, GET /status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quorate/raft"
)

// tourTimeout bounds the tour: it fails rather than run longer.
const tourTimeout = 50 * time.Second

func main() {
	var (
		tourMode   = flag.Bool("tour", false, "run the scripted tour and exit 0 if every check passed")
		id         = flag.Uint64("id", 0, "run one node with this ID (0: a local three-node cluster in this process)")
		peers      = flag.String("peers", "", "`id=host:port,...`: the raft addresses of the initial members (with -join: of the current members)")
		raftAddr   = flag.String("raft", "", "raft listen `address` (default: this node's entry in -peers)")
		httpAddr   = flag.String("http", "", "HTTP listen `address`")
		dataDir    = flag.String("data", "", "data `directory` (default kv-<id>)")
		join       = flag.Bool("join", false, "with an empty data directory, wait to be added to a running cluster instead of founding one")
		clusterID  = flag.Uint64("cluster-id", 0x6b76, "cluster `ID`, the same on every member")
		tick       = flag.Duration("tick", 100*time.Millisecond, "raft tick `interval`")
		election   = flag.Int("election-ticks", 10, "election timeout in `ticks`")
		snapEvery  = flag.Uint64("snapshot-entries", 10000, "snapshot the state every `n` applied entries")
		catchUp    = flag.Uint64("catch-up-entries", 1000, "entries kept behind a snapshot for slow followers")
		reqTimeout = flag.Duration("timeout", 5*time.Second, "how long a request waits for raft before its outcome is unknown")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	base := serverConfig{
		ClusterID:       *clusterID,
		TickInterval:    *tick,
		ElectionTicks:   *election,
		SnapshotEntries: *snapEvery,
		CatchUpEntries:  *catchUp,
		RequestTimeout:  *reqTimeout,
		RetryInterval:   time.Duration(*election) * *tick,
	}
	node := nodeFlags{id: *id, peers: *peers, raftAddr: *raftAddr, httpAddr: *httpAddr, dataDir: *dataDir, join: *join}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch {
	case *tourMode:
		fail(tourMain(ctx))
	case *id == 0:
		if node.any() {
			fail(errors.New("-peers, -raft, -http, -data and -join need -id"))
		}
		fail(runLocal(ctx, os.Stdout, base))
	default:
		fail(runNodeFromFlags(ctx, base, node))
	}
}

// nodeFlags are the flags that only the one-node mode (-id) takes.
type nodeFlags struct {
	id                                 uint64
	peers, raftAddr, httpAddr, dataDir string
	join                               bool
}

// any reports whether any flag of the one-node mode other than -id is set.
func (f nodeFlags) any() bool {
	return f.peers != "" || f.raftAddr != "" || f.httpAddr != "" || f.dataDir != "" || f.join
}

// runNodeFromFlags runs the one node f describes, with the settings of
// base, filling in the defaults of its data directory and raft address.
func runNodeFromFlags(ctx context.Context, base serverConfig, f nodeFlags) error {
	cfg := base
	cfg.ID = f.id
	cfg.Join = f.join
	cfg.Dir = f.dataDir
	if cfg.Dir == "" {
		cfg.Dir = fmt.Sprintf("kv-%d", f.id)
	}
	var err error
	if cfg.Peers, err = parsePeers(f.peers); err != nil {
		return err
	}
	raftAddr := f.raftAddr
	if raftAddr == "" {
		raftAddr = cfg.Peers[f.id]
	}
	if raftAddr == "" || f.httpAddr == "" {
		return errors.New("a node needs its raft address (-raft, or its entry in -peers) and -http")
	}
	return runNode(ctx, cfg, raftAddr, f.httpAddr)
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "kv:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// parsePeers parses "1=host:port,2=host:port".
func parsePeers(s string) (map[uint64]string, error) {
	peers := map[uint64]string{}
	if s == "" {
		return peers, nil
	}
	for _, part := range strings.Split(s, ",") {
		idText, addr, ok := strings.Cut(part, "=")
		id, err := strconv.ParseUint(idText, 10, 64)
		if !ok || err != nil || id == 0 {
			return nil, fmt.Errorf("-peers: %q is not id=host:port with a non-zero id", part)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("-peers: %q: %w", part, err)
		}
		if _, dup := peers[id]; dup {
			return nil, fmt.Errorf("-peers: node %d listed twice", id)
		}
		peers[id] = addr
	}
	return peers, nil
}

// nodeLogger returns a raft.Logger writing to w, its lines prefixed with
// the node's ID.
func nodeLogger(w io.Writer, id uint64) raft.Logger {
	return &raft.DefaultLogger{Logger: log.New(w, fmt.Sprintf("node %d: ", id), log.LstdFlags|log.Lmicroseconds)}
}

// runNode runs one node until ctx ends (nil) or the node fails.
func runNode(ctx context.Context, cfg serverConfig, raftAddr, httpAddr string) error {
	var err error
	if cfg.RaftListener, err = net.Listen("tcp", raftAddr); err != nil {
		return err
	}
	if cfg.HTTPListener, err = net.Listen("tcp", httpAddr); err != nil {
		cfg.RaftListener.Close()
		return err
	}
	cfg.Logger = nodeLogger(os.Stderr, cfg.ID)
	s, err := startServer(cfg)
	if err != nil {
		cfg.RaftListener.Close()
		cfg.HTTPListener.Close()
		return err
	}
	cfg.Logger.Infof("node %x: serving HTTP on %s and raft on %s, data in %s", cfg.ID, cfg.HTTPListener.Addr(), cfg.RaftListener.Addr(), cfg.Dir)
	select {
	case <-ctx.Done():
		s.stop()
		cfg.Logger.Infof("node %x: stopped", cfg.ID)
		return nil
	case <-s.Done():
		s.stop()
		return s.Err()
	}
}

// tourMain runs the tour with this program's binary.
func tourMain(ctx context.Context) error {
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kv-tour-")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, tourTimeout)
	defer cancel()
	if err := runTour(ctx, os.Stdout, bin, dir); err != nil {
		return fmt.Errorf("the tour FAILED: %w\n(the nodes' data and logs are kept in %s)", err, dir)
	}
	return os.RemoveAll(dir)
}

// localCluster is the three nodes of the no-argument mode, in one process.
type localCluster struct {
	dir     string
	servers []*server
	logs    []*os.File
}

// startLocal starts three nodes in this process, on loopback ports, with
// their data and logs in a new directory under parent.
func startLocal(base serverConfig, parent string) (_ *localCluster, err error) {
	lc := &localCluster{}
	if lc.dir, err = os.MkdirTemp(parent, "kv-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lc.stop()
		}
	}()
	peers := map[uint64]string{}
	var raftLns, httpLns []net.Listener
	for id := uint64(1); id <= 3; id++ {
		rl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		hl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			rl.Close()
			return nil, err
		}
		raftLns, httpLns = append(raftLns, rl), append(httpLns, hl)
		peers[id] = rl.Addr().String()
	}
	for i, id := range []uint64{1, 2, 3} {
		f, err := os.Create(filepath.Join(lc.dir, fmt.Sprintf("node-%d.log", id)))
		if err != nil {
			return nil, err
		}
		lc.logs = append(lc.logs, f)
		cfg := base
		cfg.ID, cfg.Peers, cfg.Dir = id, peers, filepath.Join(lc.dir, fmt.Sprintf("node-%d", id))
		cfg.RaftListener, cfg.HTTPListener = raftLns[i], httpLns[i]
		cfg.Logger = nodeLogger(f, id)
		s, err := startServer(cfg)
		if err != nil {
			for _, l := range append(raftLns[i:], httpLns[i:]...) {
				l.Close()
			}
			return nil, err
		}
		lc.servers = append(lc.servers, s)
	}
	return lc, nil
}

// url returns the HTTP URL of the i-th node (from 0).
func (lc *localCluster) url(i int) string {
	return "http://" + lc.servers[i].cfg.HTTPListener.Addr().String()
}

// stop stops the nodes and removes the data directory.
func (lc *localCluster) stop() error {
	for _, s := range lc.servers {
		s.stop()
	}
	for _, f := range lc.logs {
		f.Close()
	}
	return os.RemoveAll(lc.dir)
}

// runLocal runs the no-argument mode until ctx ends or a node fails.
func runLocal(ctx context.Context, out io.Writer, base serverConfig) error {
	lc, err := startLocal(base, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "A three-node kv cluster in this process; data and raft logs in %s\n", lc.dir)
	for i, s := range lc.servers {
		fmt.Fprintf(out, "  node %d: HTTP %s  raft %s\n", s.cfg.ID, lc.url(i), s.cfg.RaftListener.Addr())
	}
	fmt.Fprintf(out, "Try:\n")
	fmt.Fprintf(out, "  curl -X PUT -d world %s/keys/hello\n", lc.url(0))
	fmt.Fprintf(out, "  curl %s/keys/hello\n", lc.url(1))
	fmt.Fprintf(out, "  curl '%s/keys/hello?stale=true'\n", lc.url(2))
	fmt.Fprintf(out, "  curl %s/status\n", lc.url(2))
	fmt.Fprintf(out, "Interrupt (Ctrl-C) to stop; the data directory is removed then.\n")
	var failed error
	select {
	case <-ctx.Done():
	case <-lc.servers[0].Done():
		failed = lc.servers[0].Err()
	case <-lc.servers[1].Done():
		failed = lc.servers[1].Err()
	case <-lc.servers[2].Done():
		failed = lc.servers[2].Err()
	}
	return errors.Join(failed, lc.stop())
}
