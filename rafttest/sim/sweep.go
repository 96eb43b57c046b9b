package sim

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// SweepOptions configures Sweep.
type SweepOptions struct {
	// Options is the template of every run; its Seed and Trace are
	// ignored.
	Options
	// From and To delimit the seeds to run: From, From+1, ..., To-1.
	From, To uint64
	// Parallel is the number of runs at a time; 0 means GOMAXPROCS.
	Parallel int
	// OnResult, if set, is called with the result of every run, in seed
	// order, from the goroutine that called Sweep.
	OnResult func(r *Result)
}

// Summary aggregates the results of a sweep.
type Summary struct {
	// Runs is the number of runs, Steps the steps they took in total
	// (liveness phases included).
	Runs  int
	Steps int64
	// Violations counts the runs that stopped at a violation of each
	// oracle, Liveness the liveness failures of each class.
	Violations map[Oracle]int
	Liveness   map[LivenessClass]int
	// Tolerated counts the violations of the oracles in
	// Options.Tolerate, over all runs.
	Tolerated map[Oracle]int
	// Failed holds the results of the runs that failed, in seed order.
	Failed []Result
	// Checked and Unchecked count the reads the read oracles checked and
	// the lease reads they could not (outside lock-step mode).
	CheckedReads, UncheckedLeaseReads, DroppedReads int
}

// Sweep runs the seeds of opts in parallel and aggregates the results. The
// summary depends only on the seeds and options, not on the scheduling of
// the runs.
func Sweep(opts SweepOptions) Summary {
	par := opts.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	base := opts.Options
	base.Trace = nil
	count := int(opts.To - opts.From)
	if opts.To < opts.From {
		count = 0
	}
	results := make([]*Result, count)
	done := make([]chan struct{}, count)
	for i := range done {
		done[i] = make(chan struct{})
	}
	seeds := make(chan int)
	var wg sync.WaitGroup
	for range min(par, max(count, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range seeds {
				o := base
				o.Seed = opts.From + uint64(i)
				r := Run(o)
				results[i] = &r
				close(done[i])
			}
		}()
	}
	go func() {
		for i := range count {
			seeds <- i
		}
		close(seeds)
	}()
	s := Summary{Violations: make(map[Oracle]int), Liveness: make(map[LivenessClass]int), Tolerated: make(map[Oracle]int)}
	for i := range count {
		<-done[i]
		r := results[i]
		results[i] = nil
		s.add(r)
		if opts.OnResult != nil {
			opts.OnResult(r)
		}
	}
	wg.Wait()
	return s
}

func (s *Summary) add(r *Result) {
	s.Runs++
	s.Steps += int64(r.Stats.Steps)
	s.CheckedReads += r.Stats.CheckedReads
	s.DroppedReads += r.Stats.DroppedReads
	s.UncheckedLeaseReads += r.Stats.UncheckedLeaseReads
	for o, n := range r.Stats.Tolerated {
		if n > 0 {
			s.Tolerated[Oracle(o)] += n
		}
	}
	switch {
	case r.Violation != nil:
		s.Violations[r.Violation.Oracle]++
	case r.Liveness != nil:
		s.Liveness[r.Liveness.Class]++
	}
	if r.Failed() {
		s.Failed = append(s.Failed, *r)
	}
}

// Safe reports whether no run violated a safety property.
func (s *Summary) Safe() bool {
	for _, n := range s.Violations {
		if n > 0 {
			return false
		}
	}
	return true
}

// String renders the summary: the counts of every oracle and liveness
// class, in a fixed order.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs, %d steps; reads checked %d, lease reads unchecked %d, reads reported dropped %d\n",
		s.Runs, s.Steps, s.CheckedReads, s.UncheckedLeaseReads, s.DroppedReads)
	b.WriteString("violations:")
	for _, o := range Oracles() {
		fmt.Fprintf(&b, " %s=%d", o, s.Violations[o])
	}
	if len(s.Tolerated) > 0 {
		b.WriteString("\ntolerated violations:")
		for _, o := range Oracles() {
			if n := s.Tolerated[o]; n > 0 {
				fmt.Fprintf(&b, " %s=%d", o, n)
			}
		}
	}
	b.WriteString("\nliveness failures:")
	for _, l := range LivenessClasses() {
		fmt.Fprintf(&b, " %s=%d", l, s.Liveness[l])
	}
	return b.String()
}

// merge adds the counts of o to s.
func (s *Summary) merge(o *Summary) {
	if s.Violations == nil {
		s.Violations, s.Liveness, s.Tolerated = make(map[Oracle]int), make(map[LivenessClass]int), make(map[Oracle]int)
	}
	s.Runs += o.Runs
	s.Steps += o.Steps
	s.CheckedReads += o.CheckedReads
	s.DroppedReads += o.DroppedReads
	s.UncheckedLeaseReads += o.UncheckedLeaseReads
	for _, x := range Oracles() {
		s.Violations[x] += o.Violations[x]
		if o.Tolerated[x] > 0 {
			s.Tolerated[x] += o.Tolerated[x]
		}
	}
	for _, l := range LivenessClasses() {
		s.Liveness[l] += o.Liveness[l]
	}
	s.Failed = append(s.Failed, o.Failed...)
}
