package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sim --rules sets every node's protocol settings from a file, and a bad
// file is refused with its place.
func TestSimRules(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.json")
	os.WriteFile(good, []byte(`{"OutboundTarget": 3, "AddrBookNew": 512}`), 0o644)
	r := cli("sim", "--nodes", "8", "--duration", "10s", "--rules", good)
	if r.code != 0 || !strings.Contains(r.stdout, "3/3") || strings.Contains(r.stdout, "/8 ") {
		t.Fatalf("want every node at 3/3:\n%v", r)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"OutboundTarget": 3,
  "AddrBookNew": -5}`), 0o644)
	if r := cli("sim", "--rules", bad); r.code == 0 || !strings.Contains(r.stderr, "bad.json:2") || !strings.Contains(r.stderr, "AddrBookNew") {
		t.Fatalf("want an error naming bad.json:2 and AddrBookNew:\n%v", r)
	}
}
