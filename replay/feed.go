package replay

import "errors"

// errClosed is what Step returns after Close stopped reading ahead.
var errClosed = errors.New("replay: closed")

// A feed reads and decodes a log on a goroutine of its own, in batches of
// records, while the replay applies what it has already decoded: reading,
// checksums and decoding take about as long as applying, and a machine
// with two cores can do both at once.
//
// The goroutine owns the Reader from the moment the feed starts. The
// replay owns a batch from the moment it receives it until it gives it
// back (release), so no record is shared between the two while in use.
type feed struct {
	batches chan *recordBatch // decoded, in log order
	free    chan *recordBatch // given back, to be refilled
	stop    chan struct{}
	done    chan struct{}

	cur  *recordBatch // the batch records are taken from
	pos  int          // the next record of cur
	held []*recordBatch
	size int // records per batch
}

// recordBatch is a run of records read in a row. After its records it
// holds what the reader met next: nil, io.EOF, or an error, which the
// replay returns once it has taken every record before it.
type recordBatch struct {
	recs   []Record
	n      int
	err    error
	offset int64  // the reader's offset after the batch
	good   uint64 // the reader's good-record count after the batch
	// shared is the reader's table of shared strings after the batch:
	// its first rec.shared entries are the table before rec (for a
	// Position), handed over with the batch.
	shared []string
}

// Sizes of the feed: records per batch, and batches decoded ahead of the
// replay. A batch of 256 records is tens of microseconds of work, so
// handing one over costs little. Reading and applying take about as long
// as each other, each in stretches (checkpoints, the collector), and
// whichever side catches up parks until the other wakes it; sixteen
// ahead absorb the stretches: replays ran 12–17 % faster than with four
// (medians of 10 runs each, alternating). A batch also ends once it
// holds feedBytes of log, so that a log of large payloads (recorded in
// full) is not read ahead by the gigabyte.
const (
	feedBatch = 256
	feedAhead = 16
	feedBytes = 4 << 20
)

func startFeed(rd *Reader, size int) *feed {
	f := &feed{
		size:    size,
		batches: make(chan *recordBatch, feedAhead),
		free:    make(chan *recordBatch, 2*feedAhead),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go f.read(rd)
	return f
}

// read fills batches until the log ends, fails or the feed stops.
func (f *feed) read(rd *Reader) {
	defer close(f.done)
	for {
		var b *recordBatch
		select {
		case b = <-f.free:
		default:
			// None given back yet: the replay may be holding many for
			// one long input. Reading ahead stays bounded by the
			// channel of decoded batches.
			b = &recordBatch{recs: make([]Record, f.size)}
		}
		b.n, b.err = 0, nil
		start := rd.Offset()
		for b.n < len(b.recs) && rd.Offset()-start < feedBytes {
			if err := rd.NextInto(&b.recs[b.n]); err != nil {
				b.err = err
				break
			}
			b.n++
		}
		b.offset, b.good = rd.Offset(), rd.Good()
		b.shared = rd.dec.SharedPrefix(rd.dec.SharedLen())
		select {
		case f.batches <- b:
		case <-f.stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// next takes the next record, or the error (io.EOF at a clean end) the
// reader met after the last one.
func (f *feed) next() (*Record, error) {
	for f.cur == nil || f.pos == f.cur.n {
		if f.cur != nil && f.cur.err != nil {
			return nil, f.cur.err
		}
		b := f.receive()
		if b == nil {
			return nil, errClosed
		}
		f.held = append(f.held, b)
		f.cur, f.pos = b, 0
	}
	rec := &f.cur.recs[f.pos]
	f.pos++
	return rec, nil
}

// receive waits for the next batch; nil once the goroutine has stopped
// and every batch it sent is taken.
func (f *feed) receive() *recordBatch {
	select {
	case b := <-f.batches:
		return b
	case <-f.done:
		// Anything sent before the goroutine stopped is in the channel.
		select {
		case b := <-f.batches:
			return b
		default:
			return nil
		}
	}
}

// release gives back every held batch but the one records are now taken
// from. The replay calls it once an input and its group are applied: the
// only record it still needs then is the next input, the last one taken.
func (f *feed) release() {
	for _, b := range f.held {
		if b == f.cur {
			continue
		}
		select {
		case f.free <- b:
		default:
		}
	}
	f.held = f.held[:0]
	if f.cur != nil {
		f.held = append(f.held, f.cur)
	}
}

// sharedBefore is the reader's table of shared strings before rec, the
// record next returned last.
func (f *feed) sharedBefore(rec *Record) []string {
	return f.cur.shared[:rec.shared:rec.shared]
}

// offset is the reader's offset after the last batch received.
func (f *feed) offset() (int64, uint64) {
	if f.cur == nil {
		return 0, 0
	}
	return f.cur.offset, f.cur.good
}

// close stops the goroutine and waits for it.
func (f *feed) close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}
