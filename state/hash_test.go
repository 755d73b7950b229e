package state

import (
	"reflect"
	"slices"
	"testing"
	"unsafe"
)

// TestStateHasOnlyHashableTypes walks the State type and fails on anything
// the canonical encoding of hash.go cannot encode the same way on every
// platform and run: floats and complex numbers, interfaces, channels,
// functions, unsafe pointers and uintptrs, and map keys other than strings
// and integers (the only keys sortedMapKeys can order).
func TestStateHasOnlyHashableTypes(t *testing.T) {
	t.Parallel()
	for _, p := range unhashable(reflect.TypeFor[State]()) {
		t.Error(p)
	}
}

// TestUnhashableFindsEachKind checks that the walk of
// TestStateHasOnlyHashableTypes finds what it looks for wherever it is
// nested, so that it cannot pass for want of looking.
func TestUnhashableFindsEachKind(t *testing.T) {
	t.Parallel()
	type key struct{ A, B int }
	type inner struct {
		Rate float64
	}
	type node struct {
		Next *node // recursion ends
		Ok   int
	}
	type bad struct {
		F32      float32
		C        complex128
		Any      any
		Err      error
		Ch       chan int
		Fn       func()
		P        unsafe.Pointer
		U        uintptr
		ByStruct map[key]int
		ByBool   map[bool]int
		ByFloat  map[float64]int
		Deep     map[string][]*[2]inner
		Tree     *node
		hidden   float64
	}
	got := unhashable(reflect.TypeFor[bad]())
	want := []string{
		"bad.F32 is float32",
		"bad.C is complex128",
		"bad.Any is interface {}",
		"bad.Err is error",
		"bad.Ch is chan int",
		"bad.Fn is func()",
		"bad.P is unsafe.Pointer",
		"bad.U is uintptr",
		"bad.ByStruct has map keys of type state.key",
		"bad.ByBool has map keys of type bool",
		"bad.ByFloat has map keys of type float64",
		"bad.ByFloat[key] is float64",
		"bad.Deep[*][*][*].Rate is float64",
		"bad.hidden is float64",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("unexpected %q", g)
		}
	}

	type good struct {
		S      string
		B      []byte
		I      map[int8]uint64
		U      map[uint16]map[PeerID]*node
		A      [4]Addr
		Nested struct{ Ok bool }
	}
	if got := unhashable(reflect.TypeFor[good]()); len(got) > 0 {
		t.Errorf("a hashable type reported: %v", got)
	}
}

// unhashable lists, by path from t, the parts of type t that the canonical
// encoding cannot hash deterministically.
func unhashable(t reflect.Type) []string {
	var out []string
	seen := make(map[reflect.Type]bool)
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		switch t.Kind() {
		case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128,
			reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Uintptr:
			out = append(out, path+" is "+t.String())
			return
		}
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer:
			walk(t.Elem(), path)
		case reflect.Slice, reflect.Array:
			walk(t.Elem(), path+"[*]")
		case reflect.Map:
			switch t.Key().Kind() {
			case reflect.String,
				reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			default:
				out = append(out, path+" has map keys of type "+t.Key().String())
				walk(t.Key(), path+"[key]")
			}
			walk(t.Elem(), path+"[*]")
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		}
	}
	walk(t, t.Name())
	return out
}
