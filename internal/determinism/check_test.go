package determinism

import (
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// core is the deterministic core of DESIGN.md §3.
var core = []string{
	"github.com/p2pcore/p2pcore/codec",
	"github.com/p2pcore/p2pcore/message",
	"github.com/p2pcore/p2pcore/action",
	"github.com/p2pcore/p2pcore/state",
	"github.com/p2pcore/p2pcore/reducer",
	"github.com/p2pcore/p2pcore/effects",
	"github.com/p2pcore/p2pcore/service",
	"github.com/p2pcore/p2pcore/store",
}

func TestCoreIsDeterministic(t *testing.T) {
	t.Parallel()
	findings, err := Check(".", core...)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		name := f.Pos.Filename
		if rel, err := filepath.Rel(root, name); err == nil {
			name = rel
		}
		t.Errorf("%s:%d: %s: %s", name, f.Pos.Line, f.Rule, f.Message)
	}
	if len(findings) > 0 {
		t.Errorf("%d violations of the determinism rules (DESIGN.md §3)", len(findings))
	}
}

func TestCheckerCatchesViolations(t *testing.T) {
	t.Parallel()
	findings, err := Check(".", "./testdata/bad", "./testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	badFiles, err := filepath.Glob("testdata/bad/*.go")
	if err != nil || len(badFiles) == 0 {
		t.Fatalf("no bad fixtures: %v", err)
	}
	var want []string
	for i, name := range badFiles {
		if badFiles[i], err = filepath.Abs(name); err != nil {
			t.Fatal(err)
		}
		want = append(want, wantComments(t, badFiles[i])...)
	}
	var got []string
	for _, f := range findings {
		if !slices.Contains(badFiles, f.Pos.Filename) {
			t.Errorf("finding in allowed code: %s", f)
			continue
		}
		key := fmt.Sprintf("%s:%d: %s", filepath.Base(f.Pos.Filename), f.Pos.Line, f.Rule)
		if !slices.Contains(want, key) {
			t.Errorf("unexpected finding %s", f)
		}
		got = append(got, key)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing finding %s", w)
		}
	}
	rules := []string{RuleImport, RuleCall, RuleGo, RuleSelect, RuleChannel, RuleMapRange, RuleFloat, RuleGlobal}
	for _, r := range rules {
		if !slices.ContainsFunc(want, func(w string) bool { return strings.HasSuffix(w, ": "+r) }) {
			t.Errorf("the bad fixtures do not exercise rule %s", r)
		}
	}
}

// wantComments returns "FILE:LINE: RULE", FILE the base name, for every
// rule named by a "// want RULE..." comment in file.
func wantComments(t *testing.T, file string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, group := range f.Comments {
		for _, c := range group.List {
			rules, ok := strings.CutPrefix(c.Text, "// want ")
			if !ok {
				continue
			}
			line := fset.Position(c.Pos()).Line
			for _, r := range strings.Fields(rules) {
				want = append(want, fmt.Sprintf("%s:%d: %s", filepath.Base(file), line, r))
			}
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s has no want comments", file)
	}
	return want
}
