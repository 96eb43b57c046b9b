package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// The tour: a scripted run of a three-node cluster, each node a process of
// this binary, that checks every step and stops at the first that fails.

// tourFlags are given to every node of the tour. A snapshot every 100
// entries, keeping 20 behind it, makes a node that misses 300 writes catch
// up by snapshot.
var tourFlags = []string{"-snapshot-entries", "100", "-catch-up-entries", "20"}

// tourWrites is how many keys the tour writes while a node is down.
const tourWrites = 300

// tour holds what the steps of the tour share.
type tour struct {
	ctx   context.Context
	out   io.Writer
	c     *procCluster
	cl    *client
	start time.Time
	// leader is the node the tour last saw leading.
	leader uint64
	// keys is what the tour wrote and expects every voter to hold.
	keys map[string]string
}

// runTour runs the tour with the binary bin (this program) and dir for the
// nodes' data and logs. It returns nil when every check passed; on an
// error, the tails of the nodes' logs have been written to out.
func runTour(ctx context.Context, out io.Writer, bin, dir string) (err error) {
	c, err := newProcCluster(bin, dir, 3, tourFlags...)
	if err != nil {
		return err
	}
	defer c.close()
	defer func() {
		if err != nil {
			fmt.Fprintf(out, "\nWhat the nodes logged last:\n%s", c.logTails(12))
		}
	}()
	t := &tour{
		ctx:   ctx,
		out:   out,
		c:     c,
		cl:    &client{hc: &http.Client{Timeout: 10 * time.Second}},
		start: time.Now(),
		keys:  map[string]string{},
	}
	fmt.Fprintf(out, "A tour of the kv service: three nodes, each a process of this program, data and logs in %s.\n", dir)
	for i, step := range []func() error{t.startCluster, t.readAndWrite, t.killLeader, t.restart, t.changeMembers, t.agree, t.stopAll} {
		fmt.Fprintf(out, "%d. ", i+1)
		if err := step(); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	fmt.Fprintf(out, "Tour complete in %.1fs: every check passed.\n", time.Since(t.start).Seconds())
	return nil
}

func (t *tour) say(format string, args ...any) {
	fmt.Fprintf(t.out, format+"\n", args...)
}

func (t *tour) startCluster() error {
	t.say("Start nodes 1, 2 and 3 and wait for them to elect a leader.")
	for id := uint64(1); id <= 3; id++ {
		p, err := t.c.start(id, false)
		if err != nil {
			return err
		}
		t.say("   node %d: HTTP %s, raft %s", id, p.url(), p.raftAddr)
	}
	return t.findLeader(1, 2, 3)
}

// findLeader waits for a leader among ids and remembers it.
func (t *tour) findLeader(ids ...uint64) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.ctx, 15*time.Second)
	defer cancel()
	lead, err := t.c.waitLeader(ctx, t.cl, ids...)
	if err != nil {
		return err
	}
	st, err := t.cl.status(ctx, t.c.procs[lead].url())
	if err != nil {
		return err
	}
	t.leader = lead
	t.say("   node %d leads (term %d), found in %.1fs", lead, st.Term, time.Since(began).Seconds())
	return nil
}

// others returns the running nodes other than the leader, in ID order.
func (t *tour) others() []*proc {
	var out []*proc
	for id := uint64(1); id <= uint64(len(t.c.procs)); id++ {
		if p := t.c.procs[id]; p != nil && p.running() && id != t.leader {
			out = append(out, p)
		}
	}
	return out
}

func (t *tour) readAndWrite() error {
	t.say("Write through a follower, read it back from another, linearizably and then locally.")
	ctx, cancel := context.WithTimeout(t.ctx, 10*time.Second)
	defer cancel()
	f := t.others()
	if len(f) != 2 {
		return fmt.Errorf("%d followers running, want 2", len(f))
	}
	index, err := t.cl.put(ctx, f[0].url(), "greeting", "hello")
	if err != nil {
		return fmt.Errorf("PUT through node %d: %w", f[0].id, err)
	}
	t.keys["greeting"] = "hello"
	t.say("   PUT /keys/greeting hello through node %d: applied at index %d", f[0].id, index)
	if err := t.expect(ctx, f[1], "greeting", "hello", false); err != nil {
		return err
	}
	t.say("   GET /keys/greeting from node %d: hello (confirmed with the leader by ReadIndex)", f[1].id)
	// The node that took the write answered once it applied it, so its
	// local state has it.
	if err := t.expect(ctx, f[0], "greeting", "hello", true); err != nil {
		return err
	}
	t.say("   GET /keys/greeting?stale=true from node %d: hello (its own state, no round trip)", f[0].id)
	return nil
}

// expect reads key from p and checks its value.
func (t *tour) expect(ctx context.Context, p *proc, key, want string, stale bool) error {
	got, found, err := t.cl.get(ctx, p.url(), key, stale)
	switch {
	case err != nil:
		return fmt.Errorf("GET %s from node %d: %w", key, p.id, err)
	case !found:
		return fmt.Errorf("GET %s from node %d: not found, want %q", key, p.id, want)
	case got != want:
		return fmt.Errorf("GET %s from node %d: got %q, want %q", key, p.id, got, want)
	}
	return nil
}

func (t *tour) killLeader() error {
	old := t.leader
	t.say("Kill the leader, node %d, with SIGKILL; the other two elect a new one and keep writing.", old)
	t.c.procs[old].kill()
	var rest []uint64
	for _, p := range t.others() {
		rest = append(rest, p.id)
	}
	if err := t.findLeader(rest...); err != nil {
		return err
	}
	began := time.Now()
	if err := t.writeMany(t.others()[0], t.c.procs[t.leader]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
	defer cancel()
	st, err := t.cl.status(ctx, t.c.procs[t.leader].url())
	if err != nil {
		return err
	}
	t.say("   wrote %d keys through nodes %v in %.1fs", tourWrites, rest, time.Since(began).Seconds())
	if st.SnapshotIndex == 0 || st.FirstIndex <= 1 {
		return fmt.Errorf("node %d has no snapshot or an uncompacted log after %d writes: %+v", t.leader, tourWrites, st)
	}
	t.say("   node %d snapshotted its state at index %d and keeps only entries %d to %d",
		t.leader, st.SnapshotIndex, st.FirstIndex, st.LastIndex)
	return nil
}

// writeMany writes tourWrites keys, spread over the nodes ps, from a few
// clients at once. A write that certainly had no effect is retried; one
// whose outcome is unknown fails the tour, as it should not happen in a
// cluster with a leader.
func (t *tour) writeMany(ps ...*proc) error {
	ctx, cancel := context.WithTimeout(t.ctx, 15*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				key, value := fmt.Sprintf("key-%03d", i), fmt.Sprintf("value-%d", i)
				p := ps[(w+i)%len(ps)]
				var err error
				for range 5 {
					if _, err = t.cl.put(ctx, p.url(), key, value); err == nil || !noEffect(err) {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("PUT %s through node %d: %w", key, p.id, err))
				} else {
					t.keys[key] = value
				}
				mu.Unlock()
			}
		}()
	}
	for i := range tourWrites {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func (t *tour) restart() error {
	ctx, cancel := context.WithTimeout(t.ctx, 20*time.Second)
	defer cancel()
	var down *proc
	for _, p := range t.c.procs {
		if !p.running() {
			down = p
		}
	}
	t.say("Restart node %d from its data directory. The entries it missed are compacted away, so it catches up by snapshot.", down.id)
	lead, err := t.cl.status(ctx, t.c.procs[t.leader].url())
	if err != nil {
		return err
	}
	if err := t.c.restart(down.id); err != nil {
		return err
	}
	st, err := t.c.waitApplied(ctx, t.cl, down.id, lead.Commit, func(st statusResponse) bool { return st.SnapshotsReceived > 0 })
	if err != nil {
		return fmt.Errorf("catching up: %w (status %+v)", err, st)
	}
	t.say("   node %d received a snapshot at index %d and applied up to %d", down.id, st.SnapshotIndex, st.Applied)
	for key, want := range t.keys {
		if err := t.expect(ctx, down, key, want, true); err != nil {
			return err
		}
	}
	t.say("   it holds all %d keys written so far", len(t.keys))
	return nil
}

func (t *tour) changeMembers() error {
	ctx, cancel := context.WithTimeout(t.ctx, 20*time.Second)
	defer cancel()
	t.say("Add node 4 as a learner, then promote it and remove node 1 in one change (joint consensus).")
	p4, err := t.c.start(4, true)
	if err != nil {
		return err
	}
	t.say("   started node 4 with an empty data directory: HTTP %s, raft %s", p4.url(), p4.raftAddr)
	via := t.c.procs[2]
	res, err := t.cl.changeMembers(ctx, via.url(), memberChange{Op: memberAddLearner, ID: 4, Addr: p4.raftAddr})
	if err != nil {
		return fmt.Errorf("adding node 4 as a learner through node 2: %w", err)
	}
	if !slices.Contains(res.Conf.Learners, 4) {
		return fmt.Errorf("after adding node 4 as a learner: configuration %+v", res.Conf)
	}
	t.say("   POST /members add-learner 4 through node %d: applied at index %d, voters %v, learners %v",
		via.id, res.Index, res.Conf.Voters, res.Conf.Learners)
	st, err := t.c.waitApplied(ctx, t.cl, 4, res.Index, nil)
	if err != nil {
		return err
	}
	t.say("   node 4 caught up to index %d (%d snapshot received)", st.Applied, st.SnapshotsReceived)

	res, err = t.cl.changeMembers(ctx, via.url(),
		memberChange{Op: memberPromote, ID: 4}, memberChange{Op: memberRemove, ID: 1})
	if err != nil {
		return fmt.Errorf("promoting node 4 and removing node 1 through node 2: %w", err)
	}
	if want := []uint64{2, 3, 4}; !sameIDs(res.Conf.Voters, want) || len(res.Conf.Learners) != 0 || len(res.Conf.VotersOutgoing) != 0 {
		return fmt.Errorf("after promoting 4 and removing 1: configuration %+v, want voters %v alone", res.Conf, want)
	}
	t.say("   POST /members promote 4, remove 1 through node %d: voters %v (the joint configuration was entered at index %d and left)",
		via.id, res.Conf.Voters, res.Index)
	if err := t.c.procs[1].stop(10 * time.Second); err != nil {
		return err
	}
	t.say("   node 1 is out of the configuration; stopped it (SIGTERM, exit status 0)")
	return nil
}

// sameIDs reports whether a holds the IDs of want, in any order.
func sameIDs(a, want []uint64) bool {
	a = slices.Sorted(slices.Values(a))
	return slices.Equal(a, want)
}

func (t *tour) agree() error {
	ctx, cancel := context.WithTimeout(t.ctx, 15*time.Second)
	defer cancel()
	t.say("Write through the new voter, then check that nodes 2, 3 and 4 hold the same data.")
	if err := t.findLeader(2, 3, 4); err != nil {
		return err
	}
	index, err := t.cl.put(ctx, t.c.procs[4].url(), "tour", "done")
	if err != nil {
		return fmt.Errorf("PUT through node 4: %w", err)
	}
	t.keys["tour"] = "done"
	for _, id := range []uint64{2, 3, 4} {
		p := t.c.procs[id]
		if err := t.expect(ctx, p, "tour", "done", false); err != nil {
			return err
		}
		st, err := t.c.waitApplied(ctx, t.cl, id, index, nil)
		if err != nil {
			return err
		}
		if st.Keys != len(t.keys) {
			return fmt.Errorf("node %d holds %d keys, want %d", id, st.Keys, len(t.keys))
		}
		for key, want := range t.keys {
			if err := t.expect(ctx, p, key, want, true); err != nil {
				return err
			}
		}
		t.say("   node %d (%s, term %d): all %d keys, applied up to %d", id, st.Role, st.Term, st.Keys, st.Applied)
	}
	return nil
}

func (t *tour) stopAll() error {
	t.say("Stop nodes 2, 3 and 4 with SIGTERM.")
	for _, id := range []uint64{2, 3, 4} {
		if err := t.c.procs[id].stop(10 * time.Second); err != nil {
			return err
		}
	}
	return nil
}
