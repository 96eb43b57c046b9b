package transport

import (
	"testing"
	"time"
)

func TestBackoffDoublesWithinBoundsAndResets(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	steps := []time.Duration{100, 200, 400, 800, 1000, 1000}
	check := func(i int, step time.Duration) {
		t.Helper()
		step *= time.Millisecond
		for range 50 {
			// Each draw of the same step lies in its upper half.
			c := b
			if got := c.next(); got < step/2 || got > step {
				t.Fatalf("step %d: got pause %v, want within [%v, %v]", i, got, step/2, step)
			}
		}
		b.next()
	}
	for i, step := range steps {
		check(i, step)
	}
	b.reset()
	check(0, steps[0])
}
