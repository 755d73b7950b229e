package inspect

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/p2pcore/p2pcore/action"
)

// Filter selects actions for the timeline. The zero Filter selects every
// action.
type Filter struct {
	// Kinds, if any, are the kind names to keep.
	Kinds []string
	// Peer keeps the actions about a peer whose ID contains it.
	Peer string
	// Type is "input", "derived" or "" (both).
	Type string
	// Text keeps the actions whose text form contains it (case-sensitive).
	Text string
}

// Empty reports whether f selects everything.
func (f Filter) Empty() bool {
	return len(f.Kinds) == 0 && f.Peer == "" && f.Type == "" && f.Text == ""
}

func (f Filter) key() string {
	k := append([]string(nil), f.Kinds...)
	sort.Strings(k)
	return strings.Join(k, ",") + "\x00" + f.Peer + "\x00" + f.Type + "\x00" + f.Text
}

// Select returns the IDs of the actions f keeps, in order.
func (l *Log) Select(f Filter) ([]uint64, error) {
	var kinds map[action.Kind]bool
	if len(f.Kinds) > 0 {
		kinds = map[action.Kind]bool{}
		for _, name := range f.Kinds {
			k, ok := action.KindByName(name)
			if !ok {
				return nil, fmt.Errorf("no action kind %q", name)
			}
			kinds[k] = true
		}
	}
	var peers map[uint32]bool
	if f.Peer != "" {
		peers = map[uint32]bool{}
		for i, p := range l.peerNames {
			if i > 0 && strings.Contains(p, f.Peer) {
				peers[uint32(i)] = true
			}
		}
	}
	var wantFlag, wantVal uint8
	switch f.Type {
	case "":
	case "input":
		wantFlag, wantVal = flagInput, flagInput
	case "derived":
		wantFlag, wantVal = flagInput, 0
	default:
		return nil, fmt.Errorf("type %q: want input or derived", f.Type)
	}
	q := []byte(f.Text)
	var out []uint64
	start := uint32(0)
	for i := range l.kinds {
		end := l.textEnds[i]
		ok := (kinds == nil || kinds[l.kinds[i]]) &&
			(peers == nil || peers[l.peers[i]]) &&
			l.flags[i]&wantFlag == wantVal &&
			(len(q) == 0 || bytes.Contains(l.text[start:end], q))
		start = end
		if ok {
			out = append(out, uint64(i)+1)
		}
	}
	return out, nil
}

// Row is one action as the timeline shows it.
type Row struct {
	ID       uint64 `json:"id"`
	Time     int64  `json:"t"`
	Kind     string `json:"kind"`
	Input    bool   `json:"input"`
	Dropped  bool   `json:"dropped,omitempty"`
	Depth    int    `json:"depth,omitempty"`
	Parent   uint64 `json:"parent,omitempty"`
	Peer     string `json:"peer,omitempty"`
	Commands int    `json:"commands,omitempty"`
	Text     string `json:"text"`
}

// Row describes action id for the timeline.
func (l *Log) Row(id uint64) Row {
	i := id - 1
	return Row{ID: id, Time: l.times[i], Kind: l.kinds[i].String(), Input: l.flags[i]&flagInput != 0,
		Dropped: l.flags[i]&flagDropped != 0, Depth: int(l.depths[i]), Parent: l.parents[i],
		Peer: l.peerNames[l.peers[i]], Commands: int(l.ncmds[i]), Text: l.Text(id)}
}

// Children are the actions that action id queued, in order. They follow
// it within its input, so the search stops at the next input.
func (l *Log) Children(id uint64) []uint64 {
	var out []uint64
	for j := id; j < l.Len() && l.flags[j]&flagInput == 0; j++ {
		if l.parents[j] == id {
			out = append(out, j+1)
		}
	}
	return out
}

// Stats are the per-kind counts, by kind number.
func (l *Log) Stats() []KindStats {
	out := make([]KindStats, 0, len(l.stats))
	for _, k := range sortedKinds(l.stats) {
		out = append(out, *l.stats[k])
	}
	return out
}

func sortedKinds(m map[action.Kind]*KindStats) []action.Kind {
	ks := make([]action.Kind, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}
