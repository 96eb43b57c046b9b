package main

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// procCluster runs nodes of the service as child processes, each a copy of
// the binary bin on loopback ports, so that a node can be killed for real.
// The tour and the end-to-end test use it. It is not safe for concurrent
// use.
type procCluster struct {
	bin string
	// dir holds every node's data directory (node-N) and log (node-N.log).
	dir string
	// flags are given to every node.
	flags []string
	// initial maps the initial members to their raft addresses.
	initial map[uint64]string
	// procs holds every node started, by ID.
	procs map[uint64]*proc
}

// proc is one node's process. Its addresses stay the same across restarts.
type proc struct {
	id       uint64
	raftAddr string
	httpAddr string
	logPath  string
	args     []string
	cmd      *exec.Cmd
	// exited is closed once the process has exited; err is then what Wait
	// returned.
	exited chan struct{}
	err    error
}

// newProcCluster prepares (but does not start) a cluster of n initial
// members with IDs 1 to n.
func newProcCluster(bin, dir string, n int, flags ...string) (*procCluster, error) {
	c := &procCluster{bin: bin, dir: dir, flags: flags, initial: map[uint64]string{}, procs: map[uint64]*proc{}}
	for id := uint64(1); id <= uint64(n); id++ {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		c.initial[id] = addr
	}
	return c, nil
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func peerList(addrs map[uint64]string) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(addrs)) {
		parts = append(parts, fmt.Sprintf("%d=%s", id, addrs[id]))
	}
	return strings.Join(parts, ",")
}

// start starts node id for the first time: an initial member, or, with
// join, a new node that waits to be added and talks to the nodes started
// before it.
func (c *procCluster) start(id uint64, join bool) (*proc, error) {
	if _, ok := c.procs[id]; ok {
		return nil, fmt.Errorf("node %d was already started", id)
	}
	p := &proc{id: id, raftAddr: c.initial[id], logPath: filepath.Join(c.dir, fmt.Sprintf("node-%d.log", id))}
	peers := c.initial
	if join {
		var err error
		if p.raftAddr, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
		peers = map[uint64]string{}
		for pid, q := range c.procs {
			peers[pid] = q.raftAddr
		}
	} else if p.raftAddr == "" {
		return nil, fmt.Errorf("node %d is not an initial member", id)
	}
	var err error
	if p.httpAddr, err = freeLoopbackAddr(); err != nil {
		return nil, err
	}
	p.args = append([]string{
		"-id", fmt.Sprint(id),
		"-peers", peerList(peers),
		"-raft", p.raftAddr,
		"-http", p.httpAddr,
		"-data", filepath.Join(c.dir, fmt.Sprintf("node-%d", id)),
	}, c.flags...)
	if join {
		p.args = append(p.args, "-join")
	}
	c.procs[id] = p
	return p, p.run(c.bin)
}

// run starts the process, appending its output to its log.
func (p *proc) run(bin string) error {
	if p.exited != nil {
		select {
		case <-p.exited:
		default:
			return fmt.Errorf("node %d is running", p.id)
		}
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own copy
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = childProcAttr()
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting node %d: %w", p.id, err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		p.err = cmd.Wait()
		close(exited)
	}(p.cmd, p.exited)
	return nil
}

// restart starts node id again, with the same flags and data directory.
func (c *procCluster) restart(id uint64) error {
	p, ok := c.procs[id]
	if !ok {
		return fmt.Errorf("node %d was never started", id)
	}
	return p.run(c.bin)
}

func (p *proc) url() string { return "http://" + p.httpAddr }

// running reports whether the process has been started and not exited.
func (p *proc) running() bool {
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill kills the process with SIGKILL, as a crash would, and waits for it.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop asks the process to stop with SIGTERM and waits up to timeout for it
// to exit (killing it then). It returns an error unless the process exited
// with status 0 in time.
func (p *proc) stop(timeout time.Duration) error {
	if !p.running() {
		return fmt.Errorf("node %d is not running", p.id)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("node %d: %w", p.id, p.err)
		}
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("node %d did not stop within %v of SIGTERM", p.id, timeout)
	}
}

// close kills every running node.
func (c *procCluster) close() {
	for _, p := range c.procs {
		p.kill()
	}
}

// logTails returns the last n lines of every node's log.
func (c *procCluster) logTails(n int) string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(c.procs)) {
		p := c.procs[id]
		data, err := os.ReadFile(p.logPath)
		if err != nil {
			fmt.Fprintf(&b, "--- node %d: %v\n", id, err)
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		lines = lines[max(0, len(lines)-n):]
		fmt.Fprintf(&b, "--- node %d, last %d lines of %s\n%s\n", id, len(lines), p.logPath, strings.Join(lines, "\n"))
	}
	return b.String()
}

// waitLeader polls the nodes ids until one of them says it leads, and
// returns its ID.
func (c *procCluster) waitLeader(ctx context.Context, cl *client, ids ...uint64) (uint64, error) {
	for {
		for _, id := range ids {
			p := c.procs[id]
			if p == nil || !p.running() {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			st, err := cl.status(sctx, p.url())
			cancel()
			if err == nil && st.Role == "leader" {
				return id, nil
			}
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return 0, fmt.Errorf("no leader among nodes %v: %w", ids, ctx.Err())
		}
	}
}

// waitApplied polls node id until it has applied index and cond (if not
// nil) holds for its status, and returns that status.
func (c *procCluster) waitApplied(ctx context.Context, cl *client, id, index uint64, cond func(statusResponse) bool) (statusResponse, error) {
	p := c.procs[id]
	var last statusResponse
	var lastErr error
	for {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := cl.status(sctx, p.url())
		cancel()
		if err == nil {
			last = st
			if st.Applied >= index && (cond == nil || cond(st)) {
				return st, nil
			}
		}
		lastErr = err
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			if lastErr != nil {
				return last, fmt.Errorf("node %d: %w (last status error: %v)", id, ctx.Err(), lastErr)
			}
			return last, fmt.Errorf("node %d applied %d, not %d: %w", id, last.Applied, index, ctx.Err())
		}
	}
}
