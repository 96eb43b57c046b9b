package transport

import (
	"math/rand/v2"
	"time"
)

// backoff computes the pauses between attempts to reach a peer: doubling
// from min up to max, each drawn at random from the upper half of the
// current step so that nodes restarted together do not redial in lockstep.
//
// Invariant: cur == 0 (no failure yet) or min <= cur <= max.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

// next returns the pause before the next attempt and lengthens the one
// after it.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur-half+1)
}

// reset starts the sequence again from min, after a success.
func (b *backoff) reset() {
	b.cur = 0
}
