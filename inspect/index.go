// Package inspect is the engine and the web server behind `p2pnode
// inspect`: it replays an action log once, verifying it, and keeps a
// compact index of every action (kind, parent, time, peer, one line of
// text) plus deep copies of the state every SnapshotEvery actions. Any
// action's state, diff and commands are then found by replaying from the
// nearest snapshot — at most SnapshotEvery actions — rather than from the
// start of the log.
//
// The package reads logs and never writes anything; the server it
// provides is read-only.
package inspect

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// DefaultSnapshotEvery is the default number of actions between two state
// snapshots: a jump replays at most this many actions. On a 2-core machine
// a replay runs at about a million actions a second, so a jump costs a few
// milliseconds, and a million-action log keeps some 250 snapshots.
const DefaultSnapshotEvery = 4096

// maxText bounds the one-line text kept per action: the list shows a line,
// the detail view replays the action and shows it in full.
const maxText = 240

// Options tune a load.
type Options struct {
	// SnapshotEvery is the number of actions between snapshots (default
	// DefaultSnapshotEvery).
	SnapshotEvery uint64
	// Progress, if set, is called now and then with the bytes read so far
	// and the file's size.
	Progress func(done, total int64)
}

// Flags of an indexed action.
const (
	flagInput   = 1 << iota // an input action (else derived)
	flagDropped             // its enabling condition was false
)

// Log is one loaded action log: its index, snapshots and statistics. It is
// immutable once Load returns and safe for concurrent use.
type Log struct {
	// Path is the file and Name its base name.
	Path, Name string
	Header     replay.Header
	names      action.Names

	// One entry per action, index ID−1.
	kinds    []action.Kind
	parents  []uint64
	times    []int64
	flags    []uint8
	depths   []uint8
	peers    []uint32 // index into peerNames; 0: no peer
	ncmds    []uint16
	textEnds []uint32 // text of action i is text[textEnds[i-1]:textEnds[i]]
	text     []byte

	peerNames []string
	peerIndex map[state.PeerID]uint32
	peerField map[reflect.Type]int // per action type, its Peer field (-1: none)

	snaps  []snapshot
	series Series
	stats  map[action.Kind]*KindStats

	// Verified is set when the whole log replayed and matched its end
	// record. Otherwise Problem says why the index stops where it does
	// (a divergence, a corrupt record, a log still being written).
	Verified bool
	Problem  error
	// Divergence is the replay's divergence, when there was one.
	Divergence *replay.DivergenceError
	// Size is the file's size when it was loaded, in bytes.
	Size int64
}

// snapshot is the state after action id (and everything its input caused),
// and where the log's next input starts.
type snapshot struct {
	id  uint64
	pos replay.Position
	st  *state.State
}

// KindStats are the counts of one action kind in a log.
type KindStats struct {
	Kind     string `json:"kind"`
	Input    bool   `json:"input"`
	Count    uint64 `json:"count"`
	Dropped  uint64 `json:"dropped"`
	Commands uint64 `json:"commands"`
}

// Len is the number of actions indexed.
func (l *Log) Len() uint64 { return uint64(len(l.kinds)) }

// Self is the ID of the node that wrote the log.
func (l *Log) Self() state.PeerID { return l.Header.Self.ID }

// Load replays the log at path, verifying it as `p2pnode replay` does, and
// indexes it. A log that diverges, is corrupt, or stops early (a node still
// writing it) is indexed up to where the replay stopped, and the reason is
// in Problem; only a log that cannot be opened at all is an error.
func Load(path string, opts Options) (*Log, error) {
	if opts.SnapshotEvery == 0 {
		opts.SnapshotEvery = DefaultSnapshotEvery
	}
	rd, err := replay.Open(path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	size := int64(-1)
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	h := rd.Header()
	l := &Log{Path: path, Name: filepath.Base(path), Header: h, names: action.NamesOf(&h.Config),
		peerNames: []string{""}, peerIndex: map[state.PeerID]uint32{}, stats: map[action.Kind]*KindStats{}, Size: size}
	if size > 0 {
		// About 200 bytes of log per action in a typical recording.
		guess := min(size/64, 1<<24)
		l.reserve(int(guess))
	}
	r, err := replay.NewReplayer(rd, replay.Options{})
	if err != nil {
		return nil, err
	}
	r.ReadAhead()
	defer r.Close()
	r.OnAction = l.index
	r.OnCommands = func(m action.Meta, _ action.Action, cmds []service.Command) {
		if i := m.ID - 1; i < uint64(len(l.ncmds)) {
			l.ncmds[i] = uint16(min(len(cmds), 1<<16-1))
			l.stats[l.kinds[i]].Commands += uint64(len(cmds))
		}
	}
	sampler := newSampler(&l.series, h)
	lastSnap := uint64(0)
	l.snapshot(r)
	for step := 0; ; step++ {
		more, err := r.Step()
		if err != nil {
			l.Problem = err
			errors.As(err, &l.Divergence)
			break
		}
		if !more {
			if _, err := r.Finish(); err != nil {
				l.Problem = err
				errors.As(err, &l.Divergence)
			} else {
				l.Verified = true
			}
			break
		}
		sampler.sample(r.State(), r.LastID())
		if r.LastID()-lastSnap >= opts.SnapshotEvery {
			if l.snapshot(r) {
				lastSnap = r.LastID()
			}
		}
		if opts.Progress != nil && step%4096 == 0 {
			opts.Progress(r.Offset(), size)
		}
	}
	sampler.finish(r.State(), r.LastID())
	if opts.Progress != nil {
		opts.Progress(size, size)
	}
	return l, nil
}

func (l *Log) reserve(n int) {
	l.kinds = make([]action.Kind, 0, n)
	l.parents = make([]uint64, 0, n)
	l.times = make([]int64, 0, n)
	l.flags = make([]uint8, 0, n)
	l.depths = make([]uint8, 0, n)
	l.peers = make([]uint32, 0, n)
	l.ncmds = make([]uint16, 0, n)
	l.textEnds = make([]uint32, 0, n)
	l.text = make([]byte, 0, n*64)
}

// snapshot keeps a copy of the replay's state, between two inputs, with
// the position of the next input; false at the end of the log.
func (l *Log) snapshot(r *replay.Replayer) bool {
	pos, ok := r.NextInput()
	if !ok {
		return false
	}
	l.snaps = append(l.snaps, snapshot{id: r.LastID(), pos: pos, st: r.State().Clone()})
	return true
}

// index adds one action, just before the replay applies it.
func (l *Log) index(ev replay.Event) {
	id := ev.Meta.ID
	if id != uint64(len(l.kinds))+1 {
		// The store numbers actions consecutively; anything else is a
		// bug in the replay, reported rather than indexed wrongly.
		if l.Problem == nil {
			l.Problem = fmt.Errorf("inspect: action #%d came after #%d", id, len(l.kinds))
		}
		return
	}
	k := ev.Action.Kind()
	var fl uint8
	var depth uint8
	if ev.Input {
		fl |= flagInput
	} else if p := ev.Meta.Parent; p >= 1 && p <= uint64(len(l.depths)) {
		depth = min(l.depths[p-1], 254) + 1
	}
	if ev.NotEnabled != nil {
		fl |= flagDropped
	}
	l.kinds = append(l.kinds, k)
	l.parents = append(l.parents, ev.Meta.Parent)
	l.times = append(l.times, ev.Meta.Time)
	l.flags = append(l.flags, fl)
	l.depths = append(l.depths, depth)
	l.peers = append(l.peers, l.intern(l.peerOf(ev.Action)))
	l.ncmds = append(l.ncmds, 0)
	t := l.names.FormatShort(ev.Action)
	if len(t) > maxText {
		t = t[:maxText-3] + "..."
	}
	l.text = append(l.text, t...)
	l.textEnds = append(l.textEnds, uint32(len(l.text)))
	s := l.stats[k]
	if s == nil {
		s = &KindStats{Kind: k.String(), Input: ev.Input}
		l.stats[k] = s
	}
	s.Count++
	if ev.NotEnabled != nil {
		s.Dropped++
	}
}

func (l *Log) intern(p state.PeerID) uint32 {
	if p == "" {
		return 0
	}
	if i, ok := l.peerIndex[p]; ok {
		return i
	}
	i := uint32(len(l.peerNames))
	l.peerNames = append(l.peerNames, string(p))
	l.peerIndex[p] = i
	return i
}

// Text is the one-line text form of action id (abbreviated).
func (l *Log) Text(id uint64) string {
	i := id - 1
	start := uint32(0)
	if i > 0 {
		start = l.textEnds[i-1]
	}
	return string(l.text[start:l.textEnds[i]])
}

// peerOf is the peer an action concerns, if it has a Peer field.
func (l *Log) peerOf(a action.Action) state.PeerID {
	v := reflect.ValueOf(a)
	if v.Kind() != reflect.Struct {
		return ""
	}
	if l.peerField == nil {
		l.peerField = map[reflect.Type]int{}
	}
	i, ok := l.peerField[v.Type()]
	if !ok {
		i = -1
		if f, found := v.Type().FieldByName("Peer"); found && f.Type == reflect.TypeFor[state.PeerID]() && len(f.Index) == 1 {
			i = f.Index[0]
		}
		l.peerField[v.Type()] = i
	}
	if i < 0 {
		return ""
	}
	return state.PeerID(v.Field(i).String())
}
