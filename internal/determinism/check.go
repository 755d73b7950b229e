// Package determinism enforces the determinism rules of DESIGN.md §3 on the
// deterministic core: it loads packages, type-checks them and reports every
// construct whose behaviour can differ between runs or platforms.
//
// Packages are found with `go list -export -deps -json`, which compiles
// their dependencies into the build cache and names each one's export data;
// the packages themselves are then parsed from source and type-checked with
// go/types, importing dependencies from that export data. Nothing is fetched
// from the network that the build itself would not fetch.
package determinism

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// The rules a Finding can name.
const (
	RuleImport   = "import"    // a package the core may not import
	RuleCall     = "call"      // a function the core may not call or reference
	RuleGo       = "go"        // a go statement
	RuleSelect   = "select"    // a select statement
	RuleChannel  = "channel"   // a channel type, send, receive or range over a channel
	RuleMapRange = "map-range" // a range over a map: its order is random
	RuleFloat    = "float"     // a floating-point or complex value or type
	RuleGlobal   = "global"    // a package-level variable that may be written after initialisation
)

// A Finding is one violation of a rule.
type Finding struct {
	Pos     token.Position
	Rule    string
	Message string
}

// String names the value for logs and traces.
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s", f.Pos, f.Rule, f.Message)
}

// statePkg is the package whose helpers are allowed what the rest is not.
const statePkg = "github.com/p2pcore/p2pcore/state"

// mapRangeAllowed are the functions of state/sorted.go that may range over a
// map: their result does not depend on the order of the walk.
var mapRangeAllowed = []string{"SortedKeys", "CountBy", "AllOf", "Unordered"}

// reflectMapFiles are the files of statePkg that may walk maps by
// reflection: hash.go sorts the keys, clone.go copies a map into a map.
var reflectMapFiles = []string{"hash.go", "clone.go"}

// forbiddenImports are the packages the core may not import, with
// everything under them, except allowedImports: sources of randomness
// (hash/maphash is seeded at random), the process, the file system and the
// network, logging, concurrency, and what escapes the type system.
var (
	forbiddenImports = []string{
		"math/rand", "crypto/rand", "hash/maphash",
		"os", "io/ioutil", "io/fs", "path/filepath", "embed", "plugin", "flag", "syscall",
		"net", "log", "sync", "runtime", "debug", "testing", "unsafe",
	}
	allowedImports = []string{"net/netip", "net/url"}
)

// forbiddenCalls are functions, by types.Func.FullName, that read the clock,
// wait, yield map entries in map order, or read or write the process's
// standard streams (the fmt functions that take no reader or writer).
// reflectMapCalls are allowed in reflectMapFiles. forbiddenBuiltins are the
// builtins that write to standard error.
var (
	forbiddenCalls = []string{
		"time.Now", "time.Since", "time.Until", "time.Sleep", "time.After",
		"time.AfterFunc", "time.Tick", "time.NewTimer", "time.NewTicker",
		"maps.Keys", "maps.Values", "maps.All",
		"fmt.Print", "fmt.Printf", "fmt.Println", "fmt.Scan", "fmt.Scanf", "fmt.Scanln",
	}
	forbiddenBuiltins = []string{"print", "println"}
	reflectMapCalls   = []string{
		"(reflect.Value).MapRange", "(reflect.Value).MapKeys",
		"(reflect.Value).Seq", "(reflect.Value).Seq2",
	}
)

// listedPackage is the part of `go list -json` output Check uses.
type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Export     string
	ImportMap  map[string]string
	DepOnly    bool
	Module     *struct{ GoVersion string }
	Error      *struct{ Err string }
}

// Check loads the packages matching patterns, resolved in dir as the go
// command would, and returns every violation in their non-test Go files
// (GoFiles never lists _test.go files), sorted by position.
func Check(dir string, patterns ...string) ([]Finding, error) {
	pkgs, err := goList(dir, patterns)
	if err != nil {
		return nil, err
	}
	exports := make(map[string]string)
	for _, p := range pkgs {
		if p.Export != "" {
			exports[p.ImportPath] = p.Export
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
	var findings []Finding
	checked := 0
	for _, p := range pkgs {
		if p.DepOnly {
			continue
		}
		f, err := checkPackage(fset, imp, p)
		if err != nil {
			return nil, err
		}
		findings = append(findings, f...)
		checked++
	}
	if checked == 0 {
		return nil, fmt.Errorf("no packages match %s in %s", strings.Join(patterns, " "), dir)
	}
	slices.SortFunc(findings, func(a, b Finding) int {
		if c := strings.Compare(a.Pos.Filename, b.Pos.Filename); c != 0 {
			return c
		}
		if a.Pos.Offset != b.Pos.Offset {
			return a.Pos.Offset - b.Pos.Offset
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return findings, nil
}

func goList(dir string, patterns []string) ([]listedPackage, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := append([]string{"list", "-export", "-deps",
		"-json=ImportPath,Dir,GoFiles,CgoFiles,Export,ImportMap,DepOnly,Module,Error", "--"}, patterns...)
	cmd := exec.Command(gobin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list %s: %v\n%s", strings.Join(patterns, " "), err, stderr.Bytes())
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(&stdout); ; {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: %v", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// checkPackage parses and type-checks one package and applies the rules.
func checkPackage(fset *token.FileSet, imp types.Importer, p listedPackage) ([]Finding, error) {
	if len(p.CgoFiles) > 0 {
		return nil, fmt.Errorf("%s: cgo files cannot be checked", p.ImportPath)
	}
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if mapped, ok := p.ImportMap[path]; ok {
				path = mapped
			}
			return imp.Import(path)
		}),
		Sizes: types.SizesFor("gc", runtime.GOARCH),
	}
	if p.Module != nil && p.Module.GoVersion != "" {
		conf.GoVersion = "go" + p.Module.GoVersion
	}
	info := &types.Info{
		Types:      make(map[ast.Expr]types.TypeAndValue),
		Defs:       make(map[*ast.Ident]types.Object),
		Uses:       make(map[*ast.Ident]types.Object),
		Selections: make(map[*ast.SelectorExpr]*types.Selection),
	}
	pkg, err := conf.Check(p.ImportPath, fset, files, info)
	if err != nil {
		return nil, fmt.Errorf("type-checking %s: %v", p.ImportPath, err)
	}
	c := &checker{fset: fset, info: info, seen: make(map[string]bool)}
	for _, f := range files {
		c.file(p.ImportPath, f)
	}
	c.globals(pkg, files)
	return c.findings, nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

type checker struct {
	fset     *token.FileSet
	info     *types.Info
	findings []Finding
	// seen holds file:line:rule of type-based findings (float, channel),
	// so that an expression and its operands make one finding, not many.
	seen map[string]bool
}

func (c *checker) report(pos token.Pos, rule, format string, args ...any) {
	position := c.fset.Position(pos)
	if rule == RuleFloat || rule == RuleChannel {
		key := fmt.Sprintf("%s:%d:%s", position.Filename, position.Line, rule)
		if c.seen[key] {
			return
		}
		c.seen[key] = true
	}
	c.findings = append(c.findings, Finding{Pos: position, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) file(pkgPath string, f *ast.File) {
	base := filepath.Base(c.fset.Position(f.Pos()).Filename)
	inState := pkgPath == statePkg
	reflectMapOK := inState && slices.Contains(reflectMapFiles, base)

	for _, spec := range f.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err == nil && forbiddenImport(path) {
			c.report(spec.Pos(), RuleImport, "imports %s", path)
		}
	}
	for _, decl := range f.Decls {
		mapRangeOK := false
		if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil {
			mapRangeOK = inState && base == "sorted.go" && slices.Contains(mapRangeAllowed, fd.Name.Name)
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			c.node(n, mapRangeOK, reflectMapOK)
			return true
		})
	}
}

func (c *checker) node(n ast.Node, mapRangeOK, reflectMapOK bool) {
	switch n := n.(type) {
	case *ast.GoStmt:
		c.report(n.Pos(), RuleGo, "starts a goroutine")
	case *ast.SelectStmt:
		c.report(n.Pos(), RuleSelect, "select statement")
	case *ast.SendStmt:
		c.report(n.Pos(), RuleChannel, "sends on a channel")
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			c.report(n.Pos(), RuleChannel, "receives from a channel")
		}
	case *ast.RangeStmt:
		t := c.info.TypeOf(n.X)
		switch {
		case coreIs[*types.Map](t):
			if !mapRangeOK {
				c.report(n.Pos(), RuleMapRange, "ranges over map %s (type %s); iterate state.SortedKeys instead", types.ExprString(n.X), t)
			}
		case coreIs[*types.Chan](t):
			c.report(n.Pos(), RuleChannel, "ranges over channel %s", types.ExprString(n.X))
		}
	case *ast.Ident:
		switch obj := c.info.Uses[n].(type) {
		case *types.Func:
			name := obj.Origin().FullName()
			if slices.Contains(forbiddenCalls, name) || !reflectMapOK && slices.Contains(reflectMapCalls, name) {
				c.report(n.Pos(), RuleCall, "uses %s", name)
			}
		case *types.Builtin:
			if slices.Contains(forbiddenBuiltins, obj.Name()) {
				c.report(n.Pos(), RuleCall, "uses builtin %s, which writes to standard error", obj.Name())
			}
		}
	}
	if e, ok := n.(ast.Expr); ok {
		t := c.info.TypeOf(e)
		if t == nil {
			return
		}
		if contains(t, isFloat, nil) {
			c.report(e.Pos(), RuleFloat, "%s has floating-point type %s", short(e), t)
		}
		if contains(t, isChan, nil) {
			c.report(e.Pos(), RuleChannel, "%s has channel type %s", short(e), t)
		}
	}
}

func forbiddenImport(path string) bool {
	if slices.Contains(allowedImports, path) {
		return false
	}
	for _, f := range forbiddenImports {
		if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

// coreIs reports whether t's underlying type is a T, or t is a type
// parameter all of whose types are.
func coreIs[T types.Type](t types.Type) bool {
	if t == nil {
		return false
	}
	if tp, ok := types.Unalias(t).(*types.TypeParam); ok {
		terms := typeTerms(tp.Constraint())
		if len(terms) == 0 {
			return false
		}
		for _, term := range terms {
			if _, ok := term.Underlying().(T); !ok {
				return false
			}
		}
		return true
	}
	_, ok := t.Underlying().(T)
	return ok
}

// typeTerms returns the types of the terms of a constraint, flattening
// embedded interfaces and unions.
func typeTerms(t types.Type) []types.Type {
	iface, ok := t.Underlying().(*types.Interface)
	if !ok {
		return []types.Type{t}
	}
	var out []types.Type
	for i := 0; i < iface.NumEmbeddeds(); i++ {
		switch e := iface.EmbeddedType(i).(type) {
		case *types.Union:
			for j := 0; j < e.Len(); j++ {
				out = append(out, typeTerms(e.Term(j).Type())...)
			}
		default:
			out = append(out, typeTerms(e)...)
		}
	}
	return out
}

func isFloat(t types.Type) bool {
	b, ok := t.(*types.Basic)
	// Untyped constants are exact (go/constant); one becomes a run-time
	// float only by taking a typed float type, which is reported there.
	return ok && b.Info()&(types.IsFloat|types.IsComplex) != 0 && b.Info()&types.IsUntyped == 0
}

func isChan(t types.Type) bool {
	_, ok := t.(*types.Chan)
	return ok
}

// contains reports whether t is, or is built from, a type for which pred
// holds. It looks through pointer, slice, array, map and channel types,
// function signatures and named types other than structs and interfaces;
// the fields of a struct are checked where they are declared and used.
func contains(t types.Type, pred func(types.Type) bool, seen map[*types.Named]bool) bool {
	if pred(t) {
		return true
	}
	switch t := t.(type) {
	case *types.Alias:
		return contains(types.Unalias(t), pred, seen)
	case *types.Named:
		if seen[t] {
			return false
		}
		if seen == nil {
			seen = make(map[*types.Named]bool)
		}
		seen[t] = true
		u := t.Underlying()
		if _, ok := u.(*types.Struct); ok {
			return false
		}
		if _, ok := u.(*types.Interface); ok {
			return false
		}
		return contains(u, pred, seen)
	case *types.Pointer:
		return contains(t.Elem(), pred, seen)
	case *types.Slice:
		return contains(t.Elem(), pred, seen)
	case *types.Array:
		return contains(t.Elem(), pred, seen)
	case *types.Chan:
		return contains(t.Elem(), pred, seen)
	case *types.Map:
		return contains(t.Key(), pred, seen) || contains(t.Elem(), pred, seen)
	case *types.Signature:
		return contains(t.Params(), pred, seen) || contains(t.Results(), pred, seen)
	case *types.Tuple:
		for i := 0; i < t.Len(); i++ {
			if contains(t.At(i).Type(), pred, seen) {
				return true
			}
		}
	}
	return false
}

// short is an expression's source form, cut to fit in a message.
func short(e ast.Expr) string {
	s := types.ExprString(e)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
