package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.log")
	os.WriteFile(junk, []byte("not a log at all"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)

	wantOneLine(t, cli("inspect"), "inspect", 2, "want one or more LOG")
	wantOneLine(t, cli("inspect", "--listen", "0.0.0.0:0", junk), "inspect", 2, "not a loopback address", "--token")
	wantOneLine(t, cli("inspect", "--listen", "nonsense", junk), "inspect", 2, "nonsense")
	wantOneLine(t, cli("inspect", "--snapshot-every", "0", junk), "inspect", 2, "--snapshot-every")
	wantOneLine(t, cli("inspect", filepath.Join(dir, "missing.log")), "inspect", 1, "missing.log")
	wantOneLine(t, cli("inspect", junk), "inspect", 1, "not a p2pcore action log")
	wantOneLine(t, cli("inspect", empty), "inspect", 1, "no *.log files")
}
