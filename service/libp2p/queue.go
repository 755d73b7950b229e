package libp2p

import "time"

// outQueue holds the frames waiting to be written to one peer, or the
// broadcasts waiting to be published: frames of priority channels before
// bulk ones, each class in the order it came.
type outQueue struct {
	prio, bulk []frame
}

// bulkBatch bounds the bulk bytes taken at once (at least one frame is):
// a priority frame queued meanwhile waits behind at most that much, or
// one large frame.
const bulkBatch = 256 << 10

func (q *outQueue) push(f frame) {
	if f.priority {
		q.prio = append(q.prio, f)
	} else {
		q.bulk = append(q.bulk, f)
	}
}

func (q *outQueue) len() int { return len(q.prio) + len(q.bulk) }

// next takes what to send next: every priority frame, then bulk frames up
// to bulkBatch bytes.
func (q *outQueue) next() []frame {
	batch := q.prio
	q.prio = nil
	size, n := 0, 0
	for n < len(q.bulk) && (n == 0 || size+len(q.bulk[n].data) <= bulkBatch) {
		size += len(q.bulk[n].data)
		n++
	}
	batch = append(batch, q.bulk[:n]...)
	q.bulk = q.bulk[n:]
	if len(q.bulk) == 0 {
		q.bulk = nil // let the backing array go
	}
	return batch
}

// drain takes everything.
func (q *outQueue) drain() []frame {
	all := append(q.prio, q.bulk...)
	q.prio, q.bulk = nil, nil
	return all
}

// expired splits off the frames queued longer than their channel's
// MaxAge allows (see state.ChannelConfig.MaxAge).
func expired(batch []frame, now time.Time, maxAge func(f frame) time.Duration) (keep, stale []frame) {
	keep = batch[:0:0]
	for _, f := range batch {
		if age := maxAge(f); age > 0 && now.Sub(f.queued) > age {
			stale = append(stale, f)
		} else {
			keep = append(keep, f)
		}
	}
	return keep, stale
}
