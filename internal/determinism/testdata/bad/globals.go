package bad

import (
	"errors"
	"slices"
	"strings"
)

// Any importer can assign an exported variable; only error sentinels made
// by errors.New or fmt.Errorf may be exported.
var Limit = 3 // want global

var ErrWrapped error = wrapped() // want global

var ErrTyped = myError{} // want global

var ErrSentinel = errors.New("sentinel")

func wrapped() error { return errors.New("wrapped") }

type myError struct{}

func (myError) Error() string { return "mine" }

// An error sentinel, exported or not, is still written only during
// initialisation.
func Silence() { ErrSentinel = nil } // want global

var counter int

func Inc()          { counter++ }         // want global
func Set(n int)     { counter = n }       // want global
func Add(n int)     { counter += n }      // want global
func Counter() *int { return &counter }   // want global
func Swap(n int)    { counter, n = n, 0 } // want global

var table = map[string]int{"a": 1}

func Put(k string)           { table[k] = 1 }     // want global
func Del(k string)           { delete(table, k) } // want global
func Clear()                 { clear(table) }     // want global
func Tab() map[string]int    { return table }     // want global
func Lookup(k string) int    { return table[k] }
func Size() int              { return len(table) }
func Has(k string) (ok bool) { _, ok = table[k]; return ok }

var list = []string{"a", "b"}

func Push(s string)   { list = append(list, s) }         // want global
func Joined() string  { return strings.Join(list, ",") } // want global
func Sort()           { slices.Sort(list) }              // want global
func Alias() []string { l := list[1:]; return l }        // want global
func Last() string    { return list[len(list)-1] }
func Concat() []string {
	return append([]string{"z"}, list...)
}

var arr [4]int

func Window() []int  { return arr[:] }   // want global
func SetAt(i int)    { arr[i] = 1 }      // want global
func Fill(s []int)   { copy(arr[:], s) } // want global
func CopyOf() [4]int { return arr }
func Total() (n int) {
	for _, v := range arr {
		n += v
	}
	return n
}

type point struct{ X, Y int }

func (p *point) Reset()        { *p = point{} }
func (p point) Sum() int       { return p.X + p.Y }
func (p *point) Norm() int     { return p.X*p.X + p.Y*p.Y }
func (p *point) Into(q *point) { *q = *p }

var origin point

func Move()                 { origin.X++ }             // want global
func ResetOrigin()          { origin.Reset() }         // want global
func Reset()                { f := origin.Reset; f() } // want global
func Origin() point         { return origin }
func OriginSum() int        { return origin.Sum() }
func OriginNorm() int       { return origin.Norm() }
func CopyOrigin(q *point)   { origin.Into(q) }
func CopyToOrigin(q *point) { q.Into(&origin) } // want global

// An element that is a pointer is shared with whoever gets a copy of it.
type entry struct{ name string }

var entries [4]*entry

func Entry(i int) *entry { return entries[i] }     // want global
func Rename(i int)       { entries[i].name = "x" } // want global
func Name(i int) string  { return entries[i].name }
func Names() (out []string) {
	for _, e := range entries { // want global
		out = append(out, e.name)
	}
	return out
}

// A helper writes a package-level variable only if nothing but
// initialisation calls it.
func helper() { counter = 2 } // want global

func init() { helper() }

func Again() { helper() }

// A closure made during initialisation runs later.
var later func()

func init() {
	later = func() { counter = 3 } // want global
}

var hook = func() { counter = 4 } // want global

// A function that keeps what it is passed lets it be written later.
func keep(s []string) []string { return s }

func Kept() []string { return keep(list) } // want global

// Reached from a goroutine, a helper no longer runs only during
// initialisation.
func background() { counter = 5 } // want global

func init() {
	go background() // want go
}

// A method value made during initialisation writes when it is called.
var resetOrigin = origin.Reset // want global

var originSum = origin.Sum

var originNorm = origin.Norm

func init() {
	origin.Reset()
	f := origin.Reset // want global
	_ = f
}

// A closure made during initialisation keeps what it captured.
var next = counterFrom(0)

func counterFrom(n int) func() int {
	return func() int {
		n++ // want global
		return n
	}
}

var memo = func() func(int) int {
	seen := map[int]int{}
	return func(k int) int {
		seen[k]++ // want global
		return seen[k]
	}
}()
