package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

// dhtRules are the DHT settings of the real-network tests: server mode on
// 127.0.0.1 and retries within seconds rather than Algorand's 100 s, so a
// test that starts every node at once converges quickly.
func dhtRules(caps ...string) *state.Config {
	r := state.DefaultConfig("test")
	r.DHTMode = state.DHTServer
	r.Capabilities = caps
	r.WantCapabilities = []string{state.CapArchival}
	r.WantPeersPerCapability = 3
	r.AdvertiseRetryMax = 2 * time.Second
	r.DHTLookupInterval = time.Second
	r.DHTQueryTimeout = 10 * time.Second
	return &r
}

// TestCapabilityDiscoveryOverTheDHT: ten real hosts, three of them
// archival, find each other by capability through the Kademlia DHT: the
// background discovery fills every address book with three archival
// peers, FindPeers answers with the archival nodes and no others, and
// every log replays.
func TestCapabilityDiscoveryOverTheDHT(t *testing.T) {
	c := newCluster(t)
	boot := c.start("n0", dhtRules())
	archival := map[state.PeerID]bool{}
	for i := 1; i < 10; i++ {
		var caps []string
		if i%3 == 0 {
			caps = []string{state.CapArchival, state.CapRelay}
		}
		n := c.start(fmt.Sprintf("n%d", i), dhtRules(caps...), boot)
		if len(caps) > 0 {
			archival[n.ID()] = true
		}
	}
	booked := func(n *testNode) (ids []state.PeerID) {
		n.State(context.Background(), func(s *state.State) {
			for _, id := range state.SortedKeys(s.Discovery.Book) {
				if s.Discovery.Book[id].HasCapability(state.CapArchival) {
					ids = append(ids, id)
				}
			}
		})
		return ids
	}
	for _, n := range c.nodes {
		want := 3
		if archival[n.ID()] {
			want = 2 // the others
		}
		waitFor(t, 60*time.Second, func() string {
			return fmt.Sprintf("%s to book %d archival peers, has %v", n.name, want, booked(n))
		}, func() bool { return len(booked(n)) >= want })
		for _, id := range booked(n) {
			if !archival[id] {
				t.Errorf("%s booked %s as archival; it is not", n.name, id.Short())
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	peers, err := c.nodes[1].FindPeers(ctx, state.CapRelay, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []state.PeerID
	for _, p := range peers {
		got = append(got, p.ID)
		if len(p.Addrs) == 0 {
			t.Errorf("%s found without an address", p.ID.Short())
		}
	}
	slices.Sort(got)
	want := state.SortedKeys(archival)
	if !slices.Equal(got, want) {
		t.Errorf("FindPeers(relay) = %v, want %v", got, want)
	}
	if _, err := c.nodes[1].FindPeers(ctx, "Not A Name", 3); err == nil {
		t.Error("FindPeers accepted an invalid capability name")
	}
	// The DHT's routing table feeds the address book (every 5 s).
	time.Sleep(6 * time.Second)
	c.closeAndVerify()
	rd, err := replay.Open(c.nodes[9].log)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	fed := 0
	for {
		rec, err := rd.Next()
		if err != nil || rec == nil {
			break
		}
		if a, ok := rec.Action.(action.PeersDiscovered); ok && a.Source == "dht" {
			fed += len(a.Peers)
		}
	}
	if fed == 0 {
		t.Error("the DHT's routing table fed no peers to the address book")
	}
	t.Logf("the DHT fed %d peers to n9's address book", fed)
}
