// Package bad breaks each determinism rule at least once. Every line the
// checker must report ends in a comment "want" followed by the rules it
// breaks; the test requires exactly those findings, no more and no fewer.
// The other files of the package do the same for one rule each.
package bad

import (
	crand "crypto/rand" // want import
	"maps"
	"math/rand" // want import
	"os"        // want import
	"reflect"
	"sync" // want import
	"time"
)

// Using a forbidden package is reported once, at its import; the variable
// is reported where it is written (here, by its pointer methods).
var mu sync.Mutex

func Roll() int { return rand.Intn(6) }

func Home() string { return os.Getenv("HOME") }

func Nonce(b []byte) { _, _ = crand.Read(b) }

func Locked(f func()) {
	mu.Lock()         // want global
	defer mu.Unlock() // want global
	f()
}

func Clock() time.Time { return time.Now() } // want call

// A reference is as bad as a call.
var now = time.Now // want call

func Elapsed(t time.Time) time.Duration { return time.Since(t) } // want call

func Timeout(d time.Duration) {
	<-time.After(d) // want call channel
}

func Spawn(f func()) {
	go f() // want go
}

func Wait(a, b <-chan int) int { // want channel
	select { // want select
	case v := <-a: // want channel
		return v
	case v := <-b: // want channel
		return v
	}
}

func Pipe() {
	ch := make(chan int, 1) // want channel
	ch <- 1                 // want channel
	close(ch)               // want channel
	for v := range ch {     // want channel
		_ = v
	}
}

type Inbox struct {
	C chan []byte // want channel
}

func Sum(m map[string]int) (n int) {
	for _, v := range m { // want map-range
		n += v
	}
	return n
}

type Table map[string]int

func First(t Table) string {
	for k := range t { // want map-range
		return k
	}
	return ""
}

// SortedKeys has the name of an allowed helper but not its place: only
// state/sorted.go may range over a map.
func SortedKeys[M ~map[K]V, K comparable, V any](m M) []K {
	var keys []K
	for k := range m { // want map-range
		keys = append(keys, k)
	}
	return keys
}

func Keys(m map[string]int) []string {
	var out []string
	for k := range maps.Keys(m) { // want call
		out = append(out, k)
	}
	return out
}

func Values(m map[string]int) int {
	n := 0
	for v := range maps.Values(m) { // want call
		n += v
	}
	return n
}

// Only state/hash.go and state/clone.go may walk maps by reflection.
func Walk(v reflect.Value) int {
	return len(v.MapKeys()) // want call
}

type Score float64 // want float

type Peer struct {
	Rate float32 // want float
}

func Half(d time.Duration) float64 { // want float
	return d.Seconds() / 2 // want float
}

func Scale(n int) int {
	return int(float64(n) * 1.5) // want float
}

func Weights() map[string][]float64 { return nil } // want float

func Phase() complex128 { return 0 } // want float
