package action

import (
	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/state"
)

// PeersDiscovered adds peers to the address book: from the API, or from a
// discovery service (the DHT, a config reload).
type PeersDiscovered struct {
	Peers []state.PeerAddr
	// Source names where they came from, for the log.
	Source string
}

// Kind is KindPeersDiscovered.
func (PeersDiscovered) Kind() Kind { return KindPeersDiscovered }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a PeersDiscovered) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	encodePeerAddrs(e, a.Peers)
	e.String(a.Source)
}

// PeerStoreLoaded restores the address book and bans saved in the data dir.
// It is the first input of a node that has a saved peer store, which is how
// a replay starts from the same book.
type PeerStoreLoaded struct {
	Store state.PeerStore
}

// Kind is KindPeerStoreLoaded.
func (PeerStoreLoaded) Kind() Kind { return KindPeerStoreLoaded }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a PeerStoreLoaded) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Array(len(a.Store.Entries))
	for _, x := range a.Store.Entries {
		// An entry without capabilities keeps the 11 fields it had
		// before they existed, so older files and logs read the same.
		if len(x.Caps) > 0 {
			e.Array(12)
		} else {
			e.Array(11)
		}
		e.Shared(string(x.ID))
		encodeAddrs(e, x.Addrs)
		e.Bool(x.Tried)
		e.Bool(x.Boot)
		e.Shared(string(x.Source))
		e.Int(x.AddedAt)
		e.Int(x.LastSeen)
		e.Int(x.LastAttempt)
		e.Int(x.LastSuccess)
		e.Int(int64(x.Failures))
		e.Int(x.RetryAt)
		if len(x.Caps) > 0 {
			e.Array(len(x.Caps))
			for _, c := range x.Caps {
				e.String(c)
			}
		}
	}
	e.Array(len(a.Store.Bans))
	for _, b := range a.Store.Bans {
		e.Array(4)
		e.String(b.Target)
		e.Int(b.Ban.Until)
		e.Bool(b.Ban.Manual)
		e.String(b.Ban.Reason)
	}
}

func decodePeerStore(d *codec.Decoder) (s state.PeerStore) {
	d.ArrayLen(2)
	n := d.ArrayMax(MaxList)
	for i := 0; i < n && d.Err() == nil; i++ {
		var x state.AddrEntry
		fields := d.Array()
		if fields != 11 && fields != 12 && d.Err() == nil {
			d.Fail("peer store entry has %d fields; want 11 or 12", fields)
		}
		x.ID, x.Addrs, x.Tried, x.Boot, x.Source = peerID(d), decodeAddrs(d), d.Bool(), d.Bool(), peerID(d)
		x.AddedAt, x.LastSeen, x.LastAttempt, x.LastSuccess = d.Int(), d.Int(), d.Int(), d.Int()
		x.Failures, x.RetryAt = int(d.Int()), d.Int()
		if fields == 12 {
			n := d.ArrayMax(state.MaxCapabilities)
			for j := 0; j < n && d.Err() == nil; j++ {
				x.Caps = append(x.Caps, str(d))
			}
		}
		s.Entries = append(s.Entries, x)
	}
	n = d.ArrayMax(MaxList)
	for i := 0; i < n && d.Err() == nil; i++ {
		var b state.BanEntry
		d.ArrayLen(4)
		b.Target, b.Ban.Until, b.Ban.Manual, b.Ban.Reason = str(d), d.Int(), d.Bool(), str(d)
		s.Bans = append(s.Bans, b)
	}
	return s
}

// AddrListRequestReceived is a decoded AddrListRequest from a peer.
type AddrListRequestReceived struct {
	Peer state.PeerID
}

// Kind is KindAddrListRequestReceived.
func (AddrListRequestReceived) Kind() Kind { return KindAddrListRequestReceived }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a AddrListRequestReceived) EncodeCBOR(e *codec.Encoder) {
	e.Array(1)
	e.Shared(string(a.Peer))
}

// AddrListResponseReceived is a decoded AddrListResponse from a peer.
type AddrListResponseReceived struct {
	Peer  state.PeerID
	Peers []state.PeerAddr
}

// Kind is KindAddrListResponseReceived.
func (AddrListResponseReceived) Kind() Kind { return KindAddrListResponseReceived }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a AddrListResponseReceived) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	encodePeerAddrs(e, a.Peers)
}

// AddrAnnounceReceived is a decoded AddrAnnounce from a peer.
type AddrAnnounceReceived struct {
	Peer  state.PeerID
	Peers []state.PeerAddr
}

// Kind is KindAddrAnnounceReceived.
func (AddrAnnounceReceived) Kind() Kind { return KindAddrAnnounceReceived }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a AddrAnnounceReceived) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	encodePeerAddrs(e, a.Peers)
}

// AddrListSend answers a peer's AddrListRequest with the entries its
// reducer chose.
type AddrListSend struct {
	Peer  state.PeerID
	Peers []state.PeerAddr
}

// Kind is KindAddrListSend.
func (AddrListSend) Kind() Kind { return KindAddrListSend }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a AddrListSend) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	encodePeerAddrs(e, a.Peers)
}

// AddrListAsk asks a ready peer for addresses (an AddrListRequest): a
// new outbound peer after its handshake, or, when a node is below its
// outbound target with nobody left to dial, one peer it has not asked yet
// in either direction.
type AddrListAsk struct {
	Peer state.PeerID
}

// Kind is KindAddrListAsk.
func (AddrListAsk) Kind() Kind { return KindAddrListAsk }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a AddrListAsk) EncodeCBOR(e *codec.Encoder) {
	e.Array(1)
	e.Shared(string(a.Peer))
}

// AddrAnnounceSend announces addresses to one peer: our own after a
// handshake, or addresses new to us that we relay.
type AddrAnnounceSend struct {
	Peer  state.PeerID
	Peers []state.PeerAddr
}

// Kind is KindAddrAnnounceSend.
func (AddrAnnounceSend) Kind() Kind { return KindAddrAnnounceSend }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (a AddrAnnounceSend) EncodeCBOR(e *codec.Encoder) {
	e.Array(2)
	e.Shared(string(a.Peer))
	encodePeerAddrs(e, a.Peers)
}

// SavePeerStore asks the service to persist the address book and bans.
type SavePeerStore struct{}

// Kind is KindSavePeerStore.
func (SavePeerStore) Kind() Kind { return KindSavePeerStore }

// EncodeCBOR writes the action as a CBOR array of its fields.
func (SavePeerStore) EncodeCBOR(e *codec.Encoder) { e.Array(0) }

func peerAddrsAction[T Action](k Kind, name string, build func(state.PeerID, []state.PeerAddr) T) {
	register(k, name, false, func(d *codec.Decoder) T {
		d.ArrayLen(2)
		id := peerID(d)
		return build(id, decodePeerAddrs(d))
	})
}

func init() {
	register(KindPeersDiscovered, "PeersDiscovered", true, func(d *codec.Decoder) (a PeersDiscovered) {
		d.ArrayLen(2)
		a.Peers, a.Source = decodePeerAddrs(d), str(d)
		return
	})
	register(KindPeerStoreLoaded, "PeerStoreLoaded", true, func(d *codec.Decoder) PeerStoreLoaded {
		return PeerStoreLoaded{Store: decodePeerStore(d)}
	})
	register(KindAddrListRequestReceived, "AddrListRequestReceived", false, func(d *codec.Decoder) (a AddrListRequestReceived) {
		d.ArrayLen(1)
		a.Peer = peerID(d)
		return
	})
	register(KindAddrListAsk, "AddrListAsk", false, func(d *codec.Decoder) (a AddrListAsk) {
		d.ArrayLen(1)
		a.Peer = peerID(d)
		return
	})
	peerAddrsAction(KindAddrListResponseReceived, "AddrListResponseReceived", func(p state.PeerID, l []state.PeerAddr) AddrListResponseReceived {
		return AddrListResponseReceived{Peer: p, Peers: l}
	})
	peerAddrsAction(KindAddrAnnounceReceived, "AddrAnnounceReceived", func(p state.PeerID, l []state.PeerAddr) AddrAnnounceReceived {
		return AddrAnnounceReceived{Peer: p, Peers: l}
	})
	peerAddrsAction(KindAddrListSend, "AddrListSend", func(p state.PeerID, l []state.PeerAddr) AddrListSend {
		return AddrListSend{Peer: p, Peers: l}
	})
	peerAddrsAction(KindAddrAnnounceSend, "AddrAnnounceSend", func(p state.PeerID, l []state.PeerAddr) AddrAnnounceSend {
		return AddrAnnounceSend{Peer: p, Peers: l}
	})
	register(KindSavePeerStore, "SavePeerStore", false, func(d *codec.Decoder) SavePeerStore { d.ArrayLen(0); return SavePeerStore{} })
}
