package good

import (
	"errors"
	"fmt"
	"strings"
)

// An interface assertion declares nothing.
var _ fmt.Stringer = level(0)

// Error sentinels may be exported.
var (
	ErrClosed  = errors.New("closed")
	ErrInvalid = fmt.Errorf("invalid %s", "input")
	errHidden  = errors.New("hidden")
)

// Tables that are only read.
var (
	levelNames = [...]string{"low", "mid", "high"}
	tags       = []string{"a", "b", "c"}
	byName     = map[string]int{"low": 0, "mid": 1, "high": 2}
	squares    = func() map[int]int {
		m := make(map[int]int)
		for i := range 4 {
			m[i] = i * i
		}
		return m
	}()
)

type level int

func (l level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "level(" + fmt.Sprint(int(l)) + ")"
}

// Lookup reads a map and a slice by index and length.
func Lookup(name string) (int, bool) {
	n, ok := byName[name]
	return n + squares[n], ok && len(tags) > n && tags[n] != ""
}

// Tagged hands a table to a helper that only reads what it is given.
func Tagged(s string) bool { return indexOf(tags, s) >= 0 }

func indexOf(list []string, s string) int {
	for i, t := range list {
		if t == s {
			return i
		}
	}
	return first(list, s)
}

func first(list []string, s string) int {
	if len(list) > 0 && strings.HasPrefix(list[0], s) {
		return 0
	}
	return -1
}

// Hidden compares with a sentinel.
func Hidden(err error) bool { return errors.Is(err, errHidden) }

// A registry filled during initialisation, through helpers called only
// from init, and read afterwards.
type kindInfo struct {
	name  string
	input bool
}

var (
	kinds [8]*kindInfo
	order [8]int
	count int
)

func register[T any](k int, name string) {
	if kinds[k] != nil {
		panic("registered twice: " + name)
	}
	kinds[k] = &kindInfo{name: name}
	number(k)
}

func number(k int) {
	order[count] = k
	count++
}

func fill(k int) {
	if k > 0 {
		kinds[k].input = true
		fill(k - 1)
	}
}

func init() {
	register[int](1, "one")
	register[string](2, "two")
	func() { fill(2) }()
	defer func() { count += 0 }()
}

var initialised = func() bool { order[0] = 1; return true }()

// KindName reads through the pointer without handing it out.
func KindName(k int) (string, bool) {
	if k < 0 || k >= len(kinds) || kinds[k] == nil {
		return "", false
	}
	return kinds[k].name, kinds[k].input
}

// Kind copies the entry out: the copy holds no references.
func Kind(k int) kindInfo { return *kinds[k] }

// Order copies the array.
func Order() [8]int { return order }

// Initialised reads a flag set during initialisation.
func Initialised() bool { return initialised && count > 0 }

// Closures made during initialisation that only read what they captured.
var (
	double = scale(2)
	triple = func() func(int) int {
		k := 3
		return func(x int) int {
			y := x
			y *= k
			return y
		}
	}()
)

func scale(k int) func(int) int { return func(x int) int { return x * k } }

// Twice calls them.
func Twice(x int) int { return double(x) + triple(x) }
