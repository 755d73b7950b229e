package action_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// TestDHTAndHTTPActionsRoundTrip: each new action survives the log codec
// and its text form.
func TestDHTAndHTTPActionsRoundTrip(t *testing.T) {
	peers := []state.PeerAddr{{ID: "B", Addrs: []state.Addr{"/ip4/10.0.0.2/tcp/4001"}}}
	for _, a := range []action.Action{
		action.Advertised{Capability: "archival"},
		action.Advertised{Capability: "relay", Error: "no peers"},
		action.ProvidersFound{Query: 3, Capability: "archival", Peers: peers},
		action.ProvidersFound{Query: 4, Capability: "gossip", Error: "failed"},
		action.FindPeers{Capability: "archival", Max: 5},
		action.Advertise{Capability: "archival"},
		action.FindProviders{Query: 9, Capability: "archival", Max: 16},
		action.LookupDone{Query: 9, Error: "lookup timed out", TimedOut: true, API: true},
		action.HTTPAsk{Peer: "B", Ticket: 12},
		action.HTTPCancel{Peer: "B", Ticket: 12},
		action.HTTPExchanged{Peer: "B", Method: "GET", Path: "/block/7", Status: 200, Bytes: 1234, Duration: 3 * time.Millisecond},
		action.HTTPExchanged{Peer: "C", Inbound: true, Method: "GET", Path: "/x", Error: "stream reset"},
		action.HTTPGrant{Peer: "B", Ticket: 12, OK: true},
	} {
		got, err := action.Unmarshal(a.Kind(), action.Marshal(a))
		if err != nil {
			t.Fatalf("%s: %v", a.Kind(), err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("%s through the codec (-want +got):\n%s", a.Kind(), diff)
		}
		text := action.Format(a)
		back, err := action.Parse(text)
		if err != nil {
			t.Fatalf("parse %q: %v", text, err)
		}
		if diff := cmp.Diff(a, back); diff != "" {
			t.Errorf("%q through the text form (-want +got):\n%s", text, diff)
		}
		if a.Kind().Input() != (a.Kind() < 100) {
			t.Errorf("%s: input %v", a.Kind(), a.Kind().Input())
		}
	}
}

// TestPeerStoreEntryWithCapabilities: an entry with capabilities takes a
// twelfth field, one without keeps the eleven older files have.
func TestPeerStoreEntryWithCapabilities(t *testing.T) {
	ps := state.PeerStore{Entries: []state.AddrEntry{
		{ID: "A", Addrs: []state.Addr{"/ip4/10.0.0.1/tcp/1"}, AddedAt: 5},
		{ID: "B", Addrs: []state.Addr{"/ip4/10.0.0.2/tcp/1"}, Caps: []string{"archival", "relay"}},
	}}
	a := action.PeerStoreLoaded{Store: ps}
	got, err := action.Unmarshal(action.KindPeerStoreLoaded, action.Marshal(a))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	old := action.Marshal(action.PeerStoreLoaded{Store: state.PeerStore{Entries: ps.Entries[:1]}})
	if old[2] != 0x8b { // array(2), array(1), array(11)
		t.Errorf("an entry without capabilities starts % x; want an 11-item array", old[:4])
	}
}
