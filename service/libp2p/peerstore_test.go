package libp2p

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p2pcore/p2pcore/state"
)

// TestPeerStoreKeepsCapabilities: an address book whose entries carry
// capabilities is written and read back whole, and a file of the format
// before capabilities (entries of 11 fields) still loads.
func TestPeerStoreKeepsCapabilities(t *testing.T) {
	dir := t.TempDir()
	ps := state.PeerStore{Entries: []state.AddrEntry{
		{ID: "A", Addrs: []state.Addr{"/ip4/10.0.0.1/tcp/1"}, Group: "", AddedAt: 7, Caps: []string{"archival", "relay"}},
		{ID: "B", Addrs: []state.Addr{"/ip4/10.0.0.2/tcp/1"}, Tried: true},
	}}
	path := filepath.Join(dir, PeerStoreFile)
	if err := WritePeerStore(path, ps); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPeerStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ps, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}

	// The older format: what EncodePeerStore writes for entries without
	// capabilities is byte for byte what it wrote before they existed.
	old := state.PeerStore{Entries: ps.Entries[1:]}
	raw := EncodePeerStore(old)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = LoadPeerStore(path)
	if err != nil || len(got.Entries) != 1 || got.Entries[0].ID != "B" || got.Entries[0].Caps != nil {
		t.Errorf("old format: %+v, %v", got, err)
	}
	const entryHead = 0x8b // a CBOR array of 11 items
	if body := raw[len(peerStoreMagic)+4:]; body[2] != entryHead {
		t.Errorf("an entry without capabilities starts with %#x, want an array of 11", body[2])
	}
}
