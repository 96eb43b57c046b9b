package sim

// eventKind is what an event does when its time comes.
type eventKind uint8

const (
	evTick      eventKind = iota // one node's clock ticks
	evTickAll                    // lock-step: every live node ticks
	evDeliver                    // a message arrives at its destination
	evReady                      // a node's host takes its next Ready
	evReadyDone                  // SplitReady: the host finishes the Ready it took
	evAppend                     // a node's append thread does one write
	evApply                      // a node's apply thread applies one batch
	evClient                     // a client operation
	evFault                      // a fault strikes
	evRestart                    // a crashed node restarts
	evHeal                       // a partition ends
)

// event is something scheduled to happen at a point in virtual time.
type event struct {
	at  int64
	seq uint64 // breaks ties in scheduling order
	// node is the node concerned, inc its incarnation when the event was
	// scheduled: node events of an incarnation that has since crashed are
	// discarded.
	node uint64
	inc  uint32
	kind eventKind
	// slot indexes the message of an evDeliver in the network's slots.
	slot int32
}

func (a *event) before(b *event) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// eventQueue is a binary min-heap of events ordered by (at, seq): events
// happen in time order, and those scheduled for the same time in the
// order they were scheduled.
type eventQueue struct {
	h   []event
	seq uint64
}

func (q *eventQueue) len() int { return len(q.h) }

func (q *eventQueue) push(e event) {
	e.seq = q.seq
	q.seq++
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.h[i].before(&q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h = q.h[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && q.h[l].before(&q.h[m]) {
			m = l
		}
		if r < n && q.h[r].before(&q.h[m]) {
			m = r
		}
		if m == i {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}
