package replay

import (
	"fmt"
	"io"
	"os"

	"github.com/p2pcore/p2pcore/action"
)

// Position is a place in a log at which reading can start again: the
// offset of an input record and what the reader knew just before it (the
// last action ID and input time, which the next records are relative to).
// A tool that jumps around a long log — the inspector — keeps positions
// beside state snapshots, so that a jump reads only from the nearest one.
type Position struct {
	Offset int64
	// LastID is the ID of the last action before the record; LastTime
	// the time of the last input before it (the header's start time if
	// none).
	LastID   uint64
	LastTime int64
	// Good is the number of good records before it, header included (for
	// error messages).
	Good uint64
	// shared is the reader's table of shared strings (peer IDs) at the
	// position, which the records after it refer to.
	shared []string
}

// NextInput is where the replay's next input record starts, for reading
// the log again from there with OpenAt; ok is false at the end of the log.
// Called between two Steps, it pairs with State(): the state after LastID,
// before the input at the position.
func (r *Replayer) NextInput() (p Position, ok bool) {
	if r.next == nil {
		return Position{}, false
	}
	lastT := r.rd.header.StartTime
	if r.current != 0 {
		lastT = r.clock.t
	}
	// With the feed the table came with next (see readAhead); without,
	// it is the reader's own.
	shared := r.nextShared
	if r.feed == nil {
		shared = r.rd.dec.SharedPrefix(int(r.next.shared))
	}
	return Position{Offset: r.next.Offset, LastID: r.st.LastID(), LastTime: lastT, Good: r.next.before, shared: shared}, true
}

// OpenAt opens the log at path, checks its header, and positions the
// reader at p, which must come from NextInput on a replay of the same
// file. Records then read as if the reader had read everything before p.
func OpenAt(path string, p Position) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := NewReader(f, fi.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	if p.Offset < r.off || p.Offset > fi.Size() {
		f.Close()
		return nil, fmt.Errorf("%s: position %d is outside the log's records (%d to %d bytes)", path, p.Offset, r.off, fi.Size())
	}
	if _, err := f.Seek(p.Offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	r.br.Reset(f)
	r.win, r.winUsed = nil, 0 // what reading the header left buffered is gone
	r.off = p.Offset
	r.prevID, r.prevT, r.prevKind = p.LastID, p.LastTime, action.Kind(0)
	r.good = p.Good
	if r.header.Format >= 4 {
		r.dec.Share(p.shared)
	}
	return r, nil
}
