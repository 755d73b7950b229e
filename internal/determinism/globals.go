package determinism

import (
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
)

// The package-level variable rule (RuleGlobal).
//
// A package-level variable is state that lives outside State: whatever is
// written to it after the package is initialised survives from one action to
// the next, is not hashed, cloned or replayed, and is shared by every state
// machine in the process. The core may therefore keep package-level
// variables only when the checker can show they are never written once the
// package is initialised:
//
//   - `var _ T = ...` is never referenced and always allowed;
//   - an exported variable is reported at its declaration, since any importer
//     can assign it, unless it is an error sentinel: of type error and
//     initialised with errors.New or fmt.Errorf;
//   - every other use of a package-level variable is classified (see use),
//     and a use that writes it, or lets memory it refers to escape where it
//     could be written, is reported unless it happens during initialisation.
//
// Initialisation is the package's var initialisers, its init functions and
// the unexported, non-method functions of the package whose every reference
// is a call made during initialisation (found as a greatest fixed point, so a
// helper called only from init, or from another such helper, qualifies).
// The body of a function literal is initialisation only if the literal is
// called where it stands (`func() { ... }()`), not in a go statement: a
// closure stored during init runs later. For the same reason a method value
// made during initialisation whose method could write its receiver is
// reported.
//
// Writes are: assignment (=, op=, range with =), ++ and --, taking the
// address (&v, &v[i], &v.f), calling a pointer method on it, delete, clear,
// copy into it and append to it, to the variable itself or to any element or
// field reached from it by indexing, field selection, dereference or
// slicing. A use that copies a value holding references (a pointer, slice,
// map, channel or unsafe.Pointer, or a struct or array containing one) out of
// the variable is reported too, since the copy could be written through: a
// return, an assignment to another variable, a composite-literal element, an
// argument. An argument is let through when the callee is a function or
// method of the same package whose parameter (or receiver) is itself only
// read, by the same classification; that is how a read-only table can be
// handed to a helper.
//
// A function literal made during initialisation and kept (not called where it
// stands) may be stored in a package-level variable and called later; if it
// writes a variable it captured from the function that made it, that
// variable is hidden package-level state, and the write is reported too.
//
// Limits: interface values are treated as immutable (reflect.Type, error), so
// a pointer stored in an interface-typed variable and mutated through its
// methods is not seen; references handed out during initialisation (passed
// to another package that keeps them, say) are not followed; a parameter
// written through is enough to make every argument for it a write, even if
// the function writes only in cases the caller never reaches; unsafe is left
// to the import rule; and _test.go files are not checked.
//
// There is no escape hatch by comment: a variable that must be written after
// initialisation belongs in State, or outside the core.

// globals applies the package-level variable rule to one type-checked package.
type globals struct {
	c       *checker
	pkg     *types.Package
	info    *types.Info
	parents map[ast.Node]ast.Node
	// uses lists the identifiers referring to each variable, in source order.
	uses map[*types.Var][]*ast.Ident
	// funcUses lists the identifiers referring to each function, by origin.
	funcUses map[*types.Func][]*ast.Ident
	// bodies are the functions and methods declared in the package.
	bodies map[*types.Func]*ast.FuncDecl
	// initOnly are the helpers that run only during initialisation.
	initOnly map[*types.Func]bool
	// readOnly are the parameters and receivers whose functions only read
	// what they are passed.
	readOnly map[*types.Var]bool
	// reported holds line:name, one finding per variable and line.
	reported map[string]bool
}

func (c *checker) globals(pkg *types.Package, files []*ast.File) {
	g := &globals{
		c: c, pkg: pkg, info: c.info,
		parents:  make(map[ast.Node]ast.Node),
		uses:     make(map[*types.Var][]*ast.Ident),
		funcUses: make(map[*types.Func][]*ast.Ident),
		bodies:   make(map[*types.Func]*ast.FuncDecl),
		initOnly: make(map[*types.Func]bool),
		readOnly: make(map[*types.Var]bool),
		reported: make(map[string]bool),
	}
	var params []*types.Var
	for _, f := range files {
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			if len(stack) > 0 {
				g.parents[n] = stack[len(stack)-1]
			}
			stack = append(stack, n)
			if id, ok := n.(*ast.Ident); ok {
				switch obj := g.info.Uses[id].(type) {
				case *types.Var:
					g.uses[obj] = append(g.uses[obj], id)
				case *types.Func:
					g.funcUses[obj.Origin()] = append(g.funcUses[obj.Origin()], id)
				}
			}
			return true
		})
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			fn, ok := g.info.Defs[fd.Name].(*types.Func)
			if !ok {
				continue
			}
			g.bodies[fn] = fd
			sig := fn.Signature()
			if sig.Recv() != nil {
				params = append(params, sig.Recv())
			}
			for i := 0; i < sig.Params().Len(); i++ {
				params = append(params, sig.Params().At(i))
			}
		}
	}
	g.findInitOnly(files)
	g.findReadOnly(params)

	g.closures(files)
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					v, ok := g.info.Defs[name].(*types.Var)
					if !ok || name.Name == "_" {
						continue
					}
					if name.IsExported() && !g.errorSentinel(v, vs, i) {
						c.report(name.Pos(), RuleGlobal,
							"exported package-level variable %s can be written by any importer; "+
								"unexport it (only error sentinels made by errors.New or fmt.Errorf may be exported)", v.Name())
					}
					g.check(v)
				}
			}
		}
	}
}

// check reports the uses of package-level variable v that may write it
// after initialisation.
func (g *globals) check(v *types.Var) {
	for _, id := range g.uses[v] {
		var what string
		if g.inInit(id) {
			what = g.boundLater(id)
		} else {
			what = g.use(id)
		}
		if what == "" {
			continue
		}
		pos := g.c.fset.Position(id.Pos())
		key := pos.Filename + ":" + strconv.Itoa(pos.Line) + ":" + v.Name()
		if g.reported[key] {
			continue
		}
		g.reported[key] = true
		g.c.report(id.Pos(), RuleGlobal, "package-level variable %s %s (outside initialisation it may only be read)",
			v.Name(), what)
	}
}

// closures reports the function literals made during initialisation, and
// kept to be called later, that write a variable they captured.
func (g *globals) closures(files []*ast.File) {
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.FuncLit)
			if !ok || calledWhereItStands(g.parents, lit) || !g.inInit(lit) {
				return true
			}
			ast.Inspect(lit.Body, func(n ast.Node) bool {
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				v, ok := g.info.Uses[id].(*types.Var)
				if !ok || v.IsField() || v.Parent() == nil || v.Parent() == g.pkg.Scope() ||
					lit.Pos() <= v.Pos() && v.Pos() < lit.End() {
					return true
				}
				if what := g.use(id); what != "" {
					g.c.report(id.Pos(), RuleGlobal, "variable %s, captured by a closure made during "+
						"initialisation, %s; it outlives the call as hidden package-level state", v.Name(), what)
				}
				return true
			})
			return true
		})
	}
}

// calledWhereItStands reports whether fun, perhaps parenthesised, is the
// function of a call.
func calledWhereItStands(parents map[ast.Node]ast.Node, fun ast.Expr) bool {
	var e ast.Node = fun
	for {
		paren, ok := parents[e].(*ast.ParenExpr)
		if !ok {
			break
		}
		e = paren
	}
	call, ok := parents[e].(*ast.CallExpr)
	return ok && call.Fun == e
}

// errorSentinel reports whether the i-th variable of vs is of type error and
// initialised with errors.New or fmt.Errorf.
func (g *globals) errorSentinel(v *types.Var, vs *ast.ValueSpec, i int) bool {
	if !types.Identical(v.Type(), types.Universe.Lookup("error").Type()) || len(vs.Values) != len(vs.Names) {
		return false
	}
	call, ok := ast.Unparen(vs.Values[i]).(*ast.CallExpr)
	if !ok {
		return false
	}
	fn := g.callee(call)
	return fn != nil && (fn.FullName() == "errors.New" || fn.FullName() == "fmt.Errorf")
}

// callee is the function or method a call calls statically, by origin, or
// nil (a builtin, a conversion, a function value, an interface method).
func (g *globals) callee(call *ast.CallExpr) *types.Func {
	fun := ast.Unparen(call.Fun)
	switch f := fun.(type) {
	case *ast.IndexExpr:
		fun = ast.Unparen(f.X)
	case *ast.IndexListExpr:
		fun = ast.Unparen(f.X)
	}
	var fn *types.Func
	switch f := fun.(type) {
	case *ast.Ident:
		fn, _ = g.info.Uses[f].(*types.Func)
	case *ast.SelectorExpr:
		if sel := g.info.Selections[f]; sel != nil {
			if sel.Kind() == types.MethodVal {
				fn, _ = sel.Obj().(*types.Func)
			}
		} else {
			fn, _ = g.info.Uses[f.Sel].(*types.Func)
		}
	}
	if fn == nil {
		return nil
	}
	return fn.Origin()
}

// findInitOnly computes the greatest set of helpers that are referred to only
// by calls made during initialisation.
func (g *globals) findInitOnly(files []*ast.File) {
	var candidates []*types.Func
	for _, f := range files {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Name.Name == "init" || fd.Name.IsExported() {
				continue
			}
			fn, ok := g.info.Defs[fd.Name].(*types.Func)
			if ok && fd.Body != nil && len(g.funcUses[fn]) > 0 {
				candidates = append(candidates, fn)
				g.initOnly[fn] = true
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, fn := range candidates {
			if !g.initOnly[fn] {
				continue
			}
			for _, id := range g.funcUses[fn] {
				if call := calledAt(g.parents, id); call == nil || !g.inInit(call) {
					g.initOnly[fn] = false
					changed = true
					break
				}
			}
		}
	}
}

// calledAt returns the call of which id, perhaps instantiated or
// parenthesised, is the function, or nil.
func calledAt(parents map[ast.Node]ast.Node, id *ast.Ident) *ast.CallExpr {
	var e ast.Expr = id
	for {
		switch p := parents[e].(type) {
		case *ast.ParenExpr:
			e = p
			continue
		case *ast.IndexExpr:
			if p.X == e {
				e = p
				continue
			}
		case *ast.IndexListExpr:
			if p.X == e {
				e = p
				continue
			}
		case *ast.CallExpr:
			if p.Fun == e {
				return p
			}
		}
		return nil
	}
}

// inInit reports whether n runs only during package initialisation.
func (g *globals) inInit(n ast.Node) bool {
	for p := g.parents[n]; p != nil; p = g.parents[p] {
		switch p := p.(type) {
		case *ast.GoStmt:
			return false
		case *ast.FuncLit:
			// Called where it stands, its body runs when the expression
			// does; otherwise, whenever the value is called.
			if !calledWhereItStands(g.parents, p) {
				return false
			}
		case *ast.FuncDecl:
			if p.Recv != nil {
				return false
			}
			if p.Name.Name == "init" {
				return true
			}
			fn, _ := g.info.Defs[p.Name].(*types.Func)
			return fn != nil && g.initOnly[fn]
		case *ast.GenDecl:
			_, top := g.parents[p].(*ast.File)
			return top && p.Tok == token.VAR
		}
	}
	return false
}

// findReadOnly computes the greatest set of parameters and receivers that
// their functions only read.
func (g *globals) findReadOnly(params []*types.Var) {
	for _, v := range params {
		g.readOnly[v] = true
	}
	for changed := true; changed; {
		changed = false
		for _, v := range params {
			if !g.readOnly[v] {
				continue
			}
			for _, id := range g.uses[v] {
				if g.use(id) != "" {
					g.readOnly[v] = false
					changed = true
					break
				}
			}
		}
	}
}

// use classifies one use of a variable, e, or an expression that stands for
// it or for part of it: "" if it only reads it, else what the use does that
// could write it.
func (g *globals) use(e ast.Expr) string {
	for {
		switch p := g.parents[e].(type) {
		case *ast.ParenExpr, *ast.StarExpr:
			e = p.(ast.Expr)
		case *ast.SelectorExpr:
			sel := g.info.Selections[p]
			if sel == nil || sel.Kind() == types.FieldVal {
				e = p
				continue
			}
			return g.receiver(sel, e)
		case *ast.IndexExpr:
			if p.X != e {
				return ""
			}
			e = p
		case *ast.SliceExpr:
			if p.X != e {
				return ""
			}
			e = p
		case *ast.TypeAssertExpr:
			e = p
		case *ast.UnaryExpr:
			if p.Op == token.AND {
				return "has its address taken"
			}
			return ""
		case *ast.BinaryExpr:
			return ""
		case *ast.IncDecStmt:
			return "is incremented or decremented"
		case *ast.AssignStmt:
			for _, l := range p.Lhs {
				if l == e {
					return "is assigned"
				}
			}
			return g.escapes(e)
		case *ast.RangeStmt:
			if p.Key == e || p.Value == e {
				return "is assigned by a range"
			}
			if p.X != e {
				return ""
			}
			key, val := rangeTypes(g.info.TypeOf(e))
			if used(p.Key) && hasRefs(key) || used(p.Value) && hasRefs(val) {
				return "has references into it copied by a range"
			}
			return ""
		case *ast.CallExpr:
			if p.Fun == e {
				return ""
			}
			return g.argument(p, e)
		default:
			return g.escapes(e)
		}
	}
}

// receiver classifies e as the receiver of a method call or method value.
func (g *globals) receiver(sel *types.Selection, e ast.Expr) string {
	m, _ := sel.Obj().(*types.Func)
	if m == nil {
		return "is the receiver of a method"
	}
	recv := m.Signature().Recv()
	_, ptr := recv.Type().Underlying().(*types.Pointer)
	if !ptr && !hasRefs(recv.Type()) {
		return ""
	}
	if g.bodies[m.Origin()] != nil && g.readOnly[m.Origin().Signature().Recv()] {
		return ""
	}
	if ptr && !isPointer(g.info.TypeOf(e)) {
		return "has its address taken by pointer method " + m.Name()
	}
	return "is the receiver of method " + m.Name() + ", which may modify it"
}

// boundLater classifies a use during initialisation: a method value made
// then, and called after, writes through the receiver it was bound to.
func (g *globals) boundLater(id *ast.Ident) string {
	var e ast.Expr = id
	for {
		switch p := g.parents[e].(type) {
		case *ast.ParenExpr, *ast.StarExpr:
			e = p.(ast.Expr)
		case *ast.IndexExpr:
			if p.X != e {
				return ""
			}
			e = p
		case *ast.SelectorExpr:
			sel := g.info.Selections[p]
			if sel == nil || sel.Kind() == types.FieldVal {
				e = p
				continue
			}
			if calledWhereItStands(g.parents, p) {
				return ""
			}
			if what := g.receiver(sel, e); what != "" {
				return what + ", in a method value made during initialisation"
			}
			return ""
		default:
			return ""
		}
	}
}

// argument classifies e as an argument of call.
func (g *globals) argument(call *ast.CallExpr, e ast.Expr) string {
	if tv, ok := g.info.Types[call.Fun]; ok && tv.IsType() {
		// A conversion: what it yields is e, in another type.
		if hasRefs(tv.Type) {
			return g.use(call)
		}
		return ""
	}
	first := len(call.Args) > 0 && call.Args[0] == e
	spread := call.Ellipsis.IsValid() && call.Args[len(call.Args)-1] == e
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if b, ok := g.info.Uses[id].(*types.Builtin); ok {
			switch b.Name() {
			case "len", "cap", "min", "max", "real", "imag", "complex", "print", "println":
				return ""
			case "delete":
				if first {
					return "is deleted from"
				}
				return ""
			case "clear":
				return "is cleared"
			case "copy":
				if first {
					return "is copied into"
				}
				if _, elem := rangeTypes(g.info.TypeOf(e)); !hasRefs(elem) {
					return ""
				}
				return "has references into it copied"
			case "append":
				if first {
					return "is appended to (which may write its spare capacity)"
				}
				if spread {
					if _, elem := rangeTypes(g.info.TypeOf(e)); !hasRefs(elem) {
						return ""
					}
					return "has references into it copied"
				}
			}
			return g.escapes(e)
		}
	}
	if !hasRefs(g.info.TypeOf(e)) {
		return ""
	}
	fn := g.callee(call)
	if fn != nil && g.bodies[fn] != nil {
		sig := fn.Signature()
		i := 0
		for i < len(call.Args) && call.Args[i] != e {
			i++
		}
		n := sig.Params().Len()
		var param *types.Var
		switch {
		case sig.Variadic() && i >= n-1:
			if spread {
				param = sig.Params().At(n - 1)
			}
		case i < n:
			param = sig.Params().At(i)
		}
		if param != nil && g.readOnly[param] {
			return ""
		}
	}
	name := "a function value"
	switch {
	case fn != nil && fn.Pkg() == g.pkg:
		name = fn.Name()
	case fn != nil:
		name = fn.FullName()
	}
	return "is passed to " + name + ", which may modify it"
}

// escapes reports e if its value holds references: whatever it is copied
// to could write through them.
func (g *globals) escapes(e ast.Expr) string {
	if hasRefs(g.info.TypeOf(e)) {
		return "is shared: " + short(e) + " hands out a reference that could be written through"
	}
	return ""
}

func used(e ast.Expr) bool {
	if e == nil {
		return false
	}
	id, ok := e.(*ast.Ident)
	return !ok || id.Name != "_"
}

// rangeTypes are the key and element types of ranging over t.
func rangeTypes(t types.Type) (key, elem types.Type) {
	if t == nil {
		return nil, nil
	}
	u := t.Underlying()
	if p, ok := u.(*types.Pointer); ok {
		u = p.Elem().Underlying()
	}
	switch u := u.(type) {
	case *types.Slice:
		return types.Typ[types.Int], u.Elem()
	case *types.Array:
		return types.Typ[types.Int], u.Elem()
	case *types.Map:
		return u.Key(), u.Elem()
	case *types.Chan:
		return u.Elem(), nil
	case *types.Basic:
		return types.Typ[types.Int], types.Typ[types.Rune]
	case *types.Signature:
		// An iterator: what it yields is computed by calling it.
		return nil, nil
	}
	return nil, nil
}

func isPointer(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Pointer)
	return ok
}

// hasRefs reports whether a copy of a value of type t shares memory with
// the original that can be written through it: t is or contains a pointer,
// slice, map, channel or unsafe.Pointer. Interfaces and functions are taken
// as immutable; a type parameter is assumed to hold references.
func hasRefs(t types.Type) bool { return hasRefsSeen(t, nil) }

func hasRefsSeen(t types.Type, seen map[types.Type]bool) bool {
	if t == nil {
		return false
	}
	t = types.Unalias(t)
	if n, ok := t.(*types.Named); ok {
		if seen[n] {
			return false
		}
		if seen == nil {
			seen = make(map[types.Type]bool)
		}
		seen[n] = true
	}
	switch u := t.Underlying().(type) {
	case *types.Pointer, *types.Slice, *types.Map, *types.Chan:
		return true
	case *types.Basic:
		return u.Kind() == types.UnsafePointer
	case *types.Array:
		return hasRefsSeen(u.Elem(), seen)
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			if hasRefsSeen(u.Field(i).Type(), seen) {
				return true
			}
		}
		return false
	case *types.Tuple:
		for i := 0; i < u.Len(); i++ {
			if hasRefsSeen(u.At(i).Type(), seen) {
				return true
			}
		}
		return false
	case *types.Interface:
		_, isParam := t.(*types.TypeParam)
		return isParam
	}
	return false
}
