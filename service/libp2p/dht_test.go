package libp2p

import (
	"testing"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/p2pcore/p2pcore/state"
)

// TestDHTModeAndKeys: auto is server only with a public address; a
// capability's key names the network; its CID is stable.
func TestDHTModeAndKeys(t *testing.T) {
	addrs := func(ss ...string) (out []ma.Multiaddr) {
		for _, s := range ss {
			out = append(out, ma.StringCast(s))
		}
		return out
	}
	for _, c := range []struct {
		mode  state.DHTMode
		addrs []ma.Multiaddr
		want  dht.ModeOpt
	}{
		{state.DHTAuto, addrs("/ip4/127.0.0.1/tcp/1", "/ip4/192.168.1.5/tcp/1"), dht.ModeClient},
		{state.DHTAuto, addrs("/ip4/127.0.0.1/tcp/1", "/ip4/8.8.8.8/tcp/1"), dht.ModeServer},
		{state.DHTServer, addrs("/ip4/127.0.0.1/tcp/1"), dht.ModeServer},
		{state.DHTClient, addrs("/ip4/8.8.8.8/tcp/1"), dht.ModeClient},
	} {
		if got := dhtMode(c.mode, c.addrs); got != c.want {
			t.Errorf("dhtMode(%s, %v) = %v, want %v", c.mode, c.addrs, got, c.want)
		}
	}
	if got := CapabilityKey("devnet", "archival"); got != "/p2pcore/devnet/cap/archival" {
		t.Errorf("key %q", got)
	}
	a, err1 := capabilityCID("devnet", "archival")
	b, err2 := capabilityCID("devnet", "archival")
	c, _ := capabilityCID("mainnet", "archival")
	if err1 != nil || err2 != nil || !a.Equals(b) || a.Equals(c) {
		t.Errorf("CIDs %s %s %s (%v %v): want equal for one network, different across", a, b, c, err1, err2)
	}
}
