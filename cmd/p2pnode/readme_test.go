package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the README's configuration reference from the code")

const (
	readmeBegin = "<!-- config reference: generated from state.DefaultConfig and cmd/p2pnode/settings.go; `go test ./cmd/p2pnode -run TestREADMEConfigReference -rewrite` rewrites it -->\n"
	readmeEnd   = "<!-- end of config reference -->\n"
)

// The README's configuration reference is the one --help prints, made from
// the same table and defaults.
func TestREADMEConfigReference(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	before, rest, ok1 := strings.Cut(readme, readmeBegin)
	got, after, ok2 := strings.Cut(rest, readmeEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md: no configuration reference between\n%s and\n%s", readmeBegin, readmeEnd)
	}
	want := markdownReference()
	if got == want {
		return
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(before+readmeBegin+want+readmeEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's configuration reference differs from the code's; run\n\tgo test ./cmd/p2pnode -run TestREADMEConfigReference -rewrite\n--- README:\n%s--- code:\n%s", got, want)
}

// The example of the README's Configuration section is a valid file.
func TestREADMEConfigExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "### Configuration\n")
	_, example, ok := strings.Cut(section, "```json\n")
	example, _, ok2 := strings.Cut(example, "```\n")
	if !ok || !ok2 {
		t.Fatal("README.md: no ```json example under ### Configuration")
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "node.json"), example)
	rf, root, err := readRunFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rules := rf.protocolRules()
	if err := validateRules(&rules, root); err != nil {
		t.Fatal(err)
	}
}
