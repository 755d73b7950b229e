package state

import "time"

// Budget is a per-peer rate limit on one channel: on average at most Msgs
// messages and Bytes bytes per second, in bursts of up to Burst's worth.
// Zero Msgs or Bytes leaves that dimension unlimited.
type Budget struct {
	Msgs  int
	Bytes int
	Burst time.Duration
}

// Bucket is one peer's use of a Budget, kept as the generic cell rate
// algorithm keeps it: for each dimension the theoretical time at which the
// traffic so far would have been paid off at the budget's rate. A message
// fits if paying for it keeps that time within Burst of now. Integers
// only, and refilled from the action's time alone, so a replay charges
// exactly as the run did.
type Bucket struct {
	MsgsAt  int64
	BytesAt int64
}

// cost is the time size units take at rate per second: size/rate seconds
// (saturating, for a debt beyond any burst).
func cost(size, rate int) int64 {
	if int64(size) > (1<<62)/int64(time.Second) {
		return 1 << 62
	}
	return int64(size) * int64(time.Second) / int64(rate)
}

// Times is the budget scaled by n: what a relay of many authors may send.
func (b Budget) Times(n int) Budget {
	return Budget{Msgs: b.Msgs * n, Bytes: b.Bytes * n, Burst: b.Burst}
}

// Fits reports whether a message of size bytes would fit the bucket now.
func (b *Bucket) Fits(now int64, budget Budget, size int) bool {
	c := *b
	return c.Charge(now, budget, size)
}

// Charge takes a message of size bytes out of the bucket at time now and
// reports true, or reports false and takes nothing if it does not fit.
func (b *Bucket) Charge(now int64, budget Budget, size int) bool {
	burst := int64(budget.Burst)
	msgs, bytes := max(b.MsgsAt, now), max(b.BytesAt, now)
	if budget.Msgs > 0 {
		msgs += cost(1, budget.Msgs)
		if msgs-now > burst {
			return false
		}
	}
	if budget.Bytes > 0 {
		bytes += cost(size, budget.Bytes)
		if bytes-now > burst {
			return false
		}
	}
	b.MsgsAt, b.BytesAt = msgs, bytes
	return true
}

// Take charges traffic that has already arrived — msgs messages of bytes
// bytes in all — whether or not it fits, and reports whether the bucket is
// now over its burst. Traffic past the budget is debt: the peer stays over
// until it has been paid off.
func (b *Bucket) Take(now int64, budget Budget, msgs, bytes int) (over bool) {
	burst := int64(budget.Burst)
	if budget.Msgs > 0 {
		b.MsgsAt = max(b.MsgsAt, now) + cost(msgs, budget.Msgs)
		over = over || b.MsgsAt-now > burst
	}
	if budget.Bytes > 0 {
		b.BytesAt = max(b.BytesAt, now) + cost(bytes, budget.Bytes)
		over = over || b.BytesAt-now > burst
	}
	return over
}

// Recovered reports whether the bucket is back within its burst by now:
// a throttled peer may be read again (and is throttled again, and scored,
// if it goes straight back over).
func (b *Bucket) Recovered(now int64, budget Budget) bool {
	burst := int64(budget.Burst)
	return b.MsgsAt-now <= burst && b.BytesAt-now <= burst
}
