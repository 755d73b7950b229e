package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoSessions runs `p2pnode demo sessions` briefly: five nodes,
// three chains, sessions rotating every half second; the demo checks the
// targets, the cuts and every log itself, and the logs it kept verify.
func TestDemoSessions(t *testing.T) {
	dir := t.TempDir()
	r := cli("demo", "sessions", "--duration", "3s", "--session-timeout", "500ms", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "demo passed") || !strings.Contains(r.stdout, "5 of 5 nodes hold the highest cut") {
		t.Fatalf("demo sessions\n%v", r)
	}
	for _, want := range []string{"node-4  chain-2", "running out"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the summary table lacks %q:\n%s", want, r.stdout)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) != 5 {
		t.Fatalf("demo kept %d logs, want 5: %v", len(logs), logs)
	}
	for _, l := range logs {
		verify(t, l)
	}
}

func TestDemoSessionsBadFlags(t *testing.T) {
	wantOneLine(t, cli("demo", "sessions", "--nodes", "2"), "demo", 2, "--nodes 2")
	wantOneLine(t, cli("demo", "sessions", "--target", "1"), "demo", 2, "--target 1")
	wantOneLine(t, cli("demo", "sessions", "--nodes", "3", "--target", "3"), "demo", 2, "--target 3")
	wantOneLine(t, cli("demo", "sessions", "--duration", "1s"), "demo", 2, "--duration 1s")
	wantOneLine(t, cli("demo", "sessions", "extra"), "demo", 2, `"extra"`)
}

// TestSimSessions: `p2pnode sim --sessions` runs the session workload
// and reports it; a malformed value is refused in one line.
func TestSimSessions(t *testing.T) {
	r := cli("sim", "--nodes", "12", "--bootnodes", "2", "--sessions", "2x3", "--session-timeout", "5s", "--duration", "20s", "--tx-rate", "-1", "--block-interval", "-1s")
	if r.code != 0 || !strings.Contains(r.stdout, "sessions: ") || !strings.Contains(r.stdout, " 0 failed") {
		t.Fatalf("sim --sessions\n%v", r)
	}
	wantOneLine(t, cli("sim", "--sessions", "2by3"), "sim", 2, "CHAINSxTARGET")
	wantOneLine(t, cli("sim", "--sessions", "2x31"), "sim", 2, "target 31")
}
