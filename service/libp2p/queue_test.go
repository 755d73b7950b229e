package libp2p

import (
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/state"
)

// A priority frame queued behind bulk ones goes out in the next batch,
// after at most bulkBatch bytes of bulk (or one larger frame); each class
// keeps its order.
func TestOutQueuePutsPriorityFirst(t *testing.T) {
	var q outQueue
	for i := range 20 {
		q.push(frame{ch: 4, data: make([]byte, 100<<10), wire: state.Channel(i)})
	}
	first := q.next()
	if len(first) != 2 {
		t.Fatalf("first batch: %d bulk frames of 100 KiB, want 2 (bulkBatch %d)", len(first), bulkBatch)
	}
	q.push(frame{ch: 1, priority: true, data: []byte("block")})
	q.push(frame{ch: 0, priority: true, data: []byte("ping")})
	second := q.next()
	if len(second) < 2 || string(second[0].data) != "block" || string(second[1].data) != "ping" {
		t.Fatalf("second batch does not start with the priority frames in order: %v", second)
	}
	var order []state.Channel
	for _, f := range append(first, second[2:]...) {
		order = append(order, f.wire)
	}
	for q.len() > 0 {
		for _, f := range q.next() {
			order = append(order, f.wire)
		}
	}
	for i, w := range order {
		if w != state.Channel(i) {
			t.Fatalf("bulk frames out of order: %v", order)
		}
	}
	q.push(frame{ch: 4, data: make([]byte, 1<<20)})
	if b := q.next(); len(b) != 1 {
		t.Errorf("a frame over bulkBatch: batch of %d, want it alone", len(b))
	}
}

// Frames older than their channel's MaxAge are split off; the rest keep
// their order.
func TestExpiredSplitsStaleFrames(t *testing.T) {
	now := time.Unix(1000, 0)
	batch := []frame{
		{ch: 2, queued: now.Add(-3 * time.Second), wire: 0},
		{ch: 3, queued: now.Add(-3 * time.Second), wire: 1}, // no MaxAge
		{ch: 2, queued: now.Add(-time.Second), wire: 2},
	}
	keep, stale := expired(batch, now, func(f frame) time.Duration {
		if f.ch == 2 {
			return 2 * time.Second
		}
		return 0
	})
	if len(stale) != 1 || stale[0].wire != 0 || len(keep) != 2 || keep[0].wire != 1 || keep[1].wire != 2 {
		t.Errorf("keep %v, stale %v", keep, stale)
	}
}

// The reader refuses request frames whose data exceeds the channel's
// MaxSize (the frame limit allows the longest header on top) and
// refusals that carry data.
func TestRequestInputLimits(t *testing.T) {
	frame := reqHeader{kind: frameRequest, id: 1}.append(nil)
	if _, err := requestInput("p", 5, 4, append(frame, 1, 2, 3, 4)); err != nil {
		t.Errorf("4 bytes on a channel of 4: %v", err)
	}
	if _, err := requestInput("p", 5, 4, append(frame, 1, 2, 3, 4, 5)); err == nil {
		t.Errorf("5 bytes on a channel of 4 were taken")
	}
	refusal := reqHeader{kind: frameResponse, id: 1, status: state.RequestBusy}.append(nil)
	if _, err := requestInput("p", 5, 4, refusal); err != nil {
		t.Errorf("a busy answer: %v", err)
	}
	if _, err := requestInput("p", 5, 4, append(refusal, 9)); err == nil {
		t.Errorf("a busy answer with data was taken")
	}
}
