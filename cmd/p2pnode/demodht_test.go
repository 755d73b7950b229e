package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDHTDemoLogsReplay: `p2pnode demo dht` finds an archival peer
// through the DHT and fetches a block over HTTP-over-libp2p; the logs of
// that real run, DHT lookups and HTTP exchanges included, verify with
// `p2pnode replay --check`.
func TestDHTDemoLogsReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six real hosts")
	}
	dir := t.TempDir()
	r := cli("demo", "dht", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "demo passed") {
		t.Fatalf("demo dht\n%v", r)
	}
	for _, name := range []string{"boot", "node-1", "node-2", "node-3", "node-4", "node-5"} {
		log := filepath.Join(dir, name+".log")
		if r := cli("replay", "--check", log); r.code != 0 || !strings.Contains(r.stdout, "end hash matches") {
			t.Errorf("replay %s\n%v", name, r)
		}
	}
	trace := cli("replay", "--trace", filepath.Join(dir, "node-5.log"))
	for _, want := range []string{"FindPeers Capability=archival", "ProvidersFound Query=", "HTTPAsk", "HTTPGrant", "HTTPExchanged", "Method=GET Path=/block/42 Status=200"} {
		if !strings.Contains(trace.stdout, want) {
			t.Errorf("the fetcher's log has no %q", want)
		}
	}
	if r := cli("demo", "dht", "--nodes", "2"); r.code == 0 {
		t.Error("demo dht --nodes 2 was accepted")
	}
}

// TestSimCapability: p2pnode sim --capability runs discovery by
// capability through the simulated DHT and says how many nodes found
// their peers; a malformed value is refused.
func TestSimCapability(t *testing.T) {
	r := cli("sim", "--nodes", "30", "--duration", "20s", "--capability", "archival:5")
	if r.code != 0 || !strings.Contains(r.stdout, "capability archival: 30 of 30 nodes have 4 peers") {
		t.Errorf("sim --capability\n%v", r)
	}
	// Four of ten nodes advertise: each of them can find only the other
	// three, and that counts as found.
	r = cli("sim", "--nodes", "10", "--duration", "20s", "--capability", "archival:3")
	if r.code != 0 || !strings.Contains(r.stdout, "capability archival: 10 of 10 nodes have 4 peers with it in their address book (or all there are)") {
		t.Errorf("sim --capability with fewer advertisers than a node wants\n%v", r)
	}
	wantOneLine(t, cli("sim", "--capability", "archival"), "sim", 2, "NAME:EVERY")
}
