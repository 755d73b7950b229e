package reducer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/message"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
	"github.com/p2pcore/p2pcore/store"
)

// wireCheck is a service that decodes every control message the node
// sends, as the peer would, and keeps what failed.
type wireCheck struct {
	limit int
	sent  []message.Message
	bad   []error
}

var _ service.Service = (*wireCheck)(nil)

func (w *wireCheck) Dial(state.PeerID, []state.Addr)             {}
func (w *wireCheck) Close(state.PeerID)                          {}
func (w *wireCheck) Publish(state.Channel, []byte)               {}
func (w *wireCheck) Deliver(state.PeerID, state.Channel, []byte) {}
func (w *wireCheck) SavePeerStore(state.PeerStore)               {}
func (w *wireCheck) AcceptStream(state.PeerID, uint64)           {}
func (w *wireCheck) ResetStream(state.PeerID, uint64)            {}
func (w *wireCheck) Verdict(uint64, state.Verdict)               {}
func (w *wireCheck) Validate(service.Validate)                   {}
func (w *wireCheck) DeliverHeld(uint64)                          {}
func (w *wireCheck) Throttle(state.PeerID, bool)                 {}
func (w *wireCheck) Request(service.Request)                     {}
func (w *wireCheck) Respond(service.Respond)                     {}
func (w *wireCheck) Serve(service.Serve)                         {}
func (w *wireCheck) Complete(service.Complete)                   {}
func (w *wireCheck) OpenSession(service.OpenSession)             {}
func (w *wireCheck) SessionWrite(service.SessionWrite)           {}
func (w *wireCheck) SessionDeliver(service.SessionDeliver)       {}
func (w *wireCheck) EndSession(service.EndSession)               {}
func (w *wireCheck) Send(p state.PeerID, ch, _ state.Channel, data []byte) {
	if ch != state.ChannelControl {
		return
	}
	if len(data) > w.limit {
		w.bad = append(w.bad, fmt.Errorf("%d-byte control message over the %d-byte limit", len(data), w.limit))
		return
	}
	m, err := message.Decode(data)
	if err != nil {
		w.bad = append(w.bad, err)
		return
	}
	w.sent = append(w.sent, m)
}

// What the node sends must be what its peers accept: a node with more
// listen addresses than a Hello may carry, and a full address book of long
// addresses, still sends only messages that decode and fit the control
// channel. Otherwise honest peers would score it as malformed or oversized.
func TestOutgoingMessagesStayWithinWireLimits(t *testing.T) {
	cfg := state.DefaultConfig("testnet")
	cfg.AddrBookNew, cfg.AddrBookPerGroup = 4096, 4096
	me := state.Self{ID: "self"}
	for i := range 12 {
		me.ListenAddrs = append(me.ListenAddrs, state.Addr(fmt.Sprintf("/ip4/10.0.0.%d/tcp/4001", i+1)))
	}
	// 1200 peers with four long addresses each: far more than 256 KiB.
	var ps state.PeerStore
	for i := range 1200 {
		e := state.AddrEntry{ID: state.PeerID(fmt.Sprintf("12D3KooWPeerWithARealisticallyLongIdentifier%06d", i))}
		for j := range 4 {
			e.Addrs = append(e.Addrs, state.Addr(fmt.Sprintf("/ip6/2001:db8:1234:5678:9abc:def0:%x:%x/udp/65001/quic-v1/webtransport", i+1, j+1)))
		}
		ps.Entries = append(ps.Entries, e)
	}
	now := int64(1767225600) * int64(time.Second)
	wire := &wireCheck{limit: cfg.Channels[state.ChannelControl].MaxSize}
	s := store.New(state.New(cfg, me, 1, now), wire, &fixedClock{t: now}, store.Options{CheckInvariants: true})
	s.Dispatch(action.PeerStoreLoaded{Store: ps})

	// We dial one peer (our Hello, then our AddrAnnounce) and answer
	// another's request for addresses.
	s.Dispatch(action.Connect{Peer: "out", Addrs: []state.Addr{"/ip4/10.9.0.1/tcp/4001"}, Manual: true})
	s.Dispatch(action.Connected{Peer: "out"})
	s.Dispatch(action.MessageReceived{Peer: "out", Channel: state.ChannelControl,
		Data: message.Marshal(message.HelloAck{Version: 2, Network: "testnet", UnixTime: now / 1e9})})
	s.Dispatch(action.IncomingConnection{Peer: "in", Addr: "/ip4/10.8.0.1/tcp/5"})
	s.Dispatch(action.MessageReceived{Peer: "in", Channel: state.ChannelControl,
		Data: message.Marshal(message.Hello{Version: 2, Network: "testnet", UnixTime: now / 1e9, Nonce: 7})})
	s.Dispatch(action.MessageReceived{Peer: "in", Channel: state.ChannelControl, Data: message.Marshal(message.AddrListRequest{})})

	for _, err := range wire.bad {
		t.Errorf("a peer would refuse what we sent: %v", err)
	}
	seen := map[message.Type]bool{}
	for _, m := range wire.sent {
		seen[m.Type()] = true
		// 1000 of these entries would not fit: the list is cut by size,
		// and still carries hundreds.
		if r, ok := m.(message.AddrListResponse); ok && (len(r.Peers) < 500 || len(r.Peers) >= 1000) {
			t.Errorf("the address list has %d entries; want it cut by size, to between 500 and 999", len(r.Peers))
		}
	}
	for _, want := range []message.Type{message.TypeHello, message.TypeHelloAck, message.TypeAddrAnnounce, message.TypeAddrListResponse} {
		if !seen[want] {
			t.Errorf("no %s was sent (sent: %d messages)", want, len(wire.sent))
		}
	}
	if n, err := s.Violations(); n > 0 {
		t.Errorf("%d invariant violations: %v", n, err)
	}
}
