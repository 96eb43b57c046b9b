package transport

import (
	"testing"

	"github.com/quorate/raft/raftpb"
)

func TestOutQueueBoundsMessagesAndBytes(t *testing.T) {
	m := &raftpb.Message{Type: raftpb.MsgHeartbeat, To: 2}
	tests := []struct {
		name              string
		maxMsgs, maxBytes int
		sizes             []int
		want              []bool
	}{
		{"message limit", 2, 1000, []int{10, 10, 10}, []bool{true, true, false}},
		{"byte limit", 10, 25, []int{10, 10, 10, 5}, []bool{true, true, false, true}},
		{"larger than the byte limit", 10, 25, []int{30}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := outQueue{maxMsgs: tt.maxMsgs, maxBytes: tt.maxBytes, ready: make(chan struct{}, 1)}
			for i, size := range tt.sizes {
				if got := q.push(m, size); got != tt.want[i] {
					t.Errorf("push %d of %d bytes: got %v, want %v", i, size, got, tt.want[i])
				}
				if msgs, bytes := q.size(); msgs > tt.maxMsgs || bytes > tt.maxBytes {
					t.Errorf("after push %d: got %d messages, %d bytes; limits %d, %d", i, msgs, bytes, tt.maxMsgs, tt.maxBytes)
				}
			}
		})
	}
	t.Run("drain empties it", func(t *testing.T) {
		q := outQueue{maxMsgs: 10, maxBytes: 100, ready: make(chan struct{}, 1)}
		q.push(m, 1)
		q.push(m, 1)
		spare := make([]queued, 0, 4)
		batch := q.drain(spare)
		if msgs, bytes := q.size(); len(batch) != 2 || msgs != 0 || bytes != 0 {
			t.Errorf("got %d drained and %d/%d left, want 2 and 0/0", len(batch), msgs, bytes)
		}
		q.push(m, 1)
		if next := q.drain(batch); len(next) != 1 || &next[0] != &spare[:1][0] {
			t.Errorf("got %d drained, from a new array: %v; want 1 in the spare", len(next), &next[0] != &spare[:1][0])
		}
	})
	t.Run("signals do not pile up", func(t *testing.T) {
		q := outQueue{maxMsgs: 10, maxBytes: 100, ready: make(chan struct{}, 1)}
		q.signal()
		q.signal()
		if got := len(q.ready); got != 1 {
			t.Errorf("got %d signals waiting, want 1", got)
		}
	})
}
