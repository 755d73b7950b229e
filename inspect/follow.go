package inspect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

// Hop is one broadcast's publication or receipt in one log.
type Hop struct {
	Log  int    `json:"log"`
	Name string `json:"name"`
	ID   uint64 `json:"id"`
	Time int64  `json:"t"`
	Kind string `json:"kind"`
	// From is the peer that relayed it (receipts); Delay is the time since
	// the publication, in ns (logs of one simulation share a clock).
	From   string `json:"from,omitempty"`
	Delay  int64  `json:"delay"`
	Copies int    `json:"copies"`
}

// Broadcast is one broadcast followed through several logs: where it was
// published and where it arrived.
type Broadcast struct {
	Channel   string   `json:"channel"`
	Sum       string   `json:"sum"`
	Size      int      `json:"size"`
	Author    string   `json:"author"`
	Sender    *Hop     `json:"sender"`
	Receivers []Hop    `json:"receivers"`
	Missing   []string `json:"missing"`
}

// payloadKey identifies a broadcast across logs: its channel's name, its
// author and its payload's SHA-256 (what a log records of a large payload).
type payloadKey struct {
	channel string
	author  state.PeerID
	sum     [32]byte
}

func sumOf(data []byte, sum [32]byte) [32]byte {
	if data == nil && sum != ([32]byte{}) {
		return sum
	}
	return sha256.Sum256(data)
}

// Follow follows the broadcast of action id of logs[li] — its publication
// (BroadcastMessage) or a receipt (GossipReceived) — through every log: it
// reads each log's inputs once, without replaying them.
func Follow(logs []*Log, li int, id uint64) (*Broadcast, error) {
	if li < 0 || li >= len(logs) {
		return nil, fmt.Errorf("no log %d", li)
	}
	l := logs[li]
	p, err := l.At(id)
	if err != nil {
		return nil, err
	}
	var key payloadKey
	var size int
	switch a := p.Action.(type) {
	case action.BroadcastMessage:
		key = payloadKey{l.names.Channel(a.Channel), l.Self(), sumOf(a.Data, a.Sum)}
		size = a.Len()
	case action.GossipReceived:
		key = payloadKey{l.names.Channel(a.Channel), a.Author, sumOf(a.Data, a.Sum)}
		size = a.Len()
	default:
		return nil, fmt.Errorf("action #%d is a %s; only a BroadcastMessage or a GossipReceived can be followed", id, p.Action.Kind())
	}
	b := &Broadcast{Channel: key.channel, Sum: hex.EncodeToString(key.sum[:8]), Size: size, Author: string(key.author)}
	for i, other := range logs {
		hop, err := other.find(key)
		if err != nil {
			return nil, err
		}
		switch {
		case hop == nil:
			if other.Self() != key.author {
				b.Missing = append(b.Missing, other.Name)
			}
		case hop.Kind == action.KindBroadcastMessage.String():
			hop.Log = i
			b.Sender = hop
		default:
			hop.Log = i
			b.Receivers = append(b.Receivers, *hop)
		}
	}
	if b.Sender != nil {
		for i := range b.Receivers {
			b.Receivers[i].Delay = b.Receivers[i].Time - b.Sender.Time
		}
	}
	return b, nil
}

// find reads l's inputs for the publication (in the author's log) or the
// first receipt of the broadcast key.
func (l *Log) find(key payloadKey) (*Hop, error) {
	rd, err := replay.Open(l.Path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var hop *Hop
	var rec replay.Record
	for {
		err := rd.NextInto(&rec)
		if err == io.EOF || (err != nil && hop != nil) || (err != nil && replay.IsTorn(err)) {
			return hop, nil
		}
		if err != nil {
			return nil, err
		}
		if rec.Type != replay.RecordInput || rec.Meta.ID > l.Len() {
			continue
		}
		switch a := rec.Action.(type) {
		case action.BroadcastMessage:
			if l.Self() == key.author && l.names.Channel(a.Channel) == key.channel && sumOf(a.Data, a.Sum) == key.sum {
				return &Hop{Name: l.Name, ID: rec.Meta.ID, Time: rec.Meta.Time, Kind: a.Kind().String(), Copies: 1}, nil
			}
		case action.GossipReceived:
			if a.Author == key.author && l.names.Channel(a.Channel) == key.channel && sumOf(a.Data, a.Sum) == key.sum {
				if hop == nil {
					hop = &Hop{Name: l.Name, ID: rec.Meta.ID, Time: rec.Meta.Time, Kind: a.Kind().String(), From: string(a.Peer)}
				}
				hop.Copies++
			}
		}
	}
}
