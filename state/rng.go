package state

import "math/bits"

// RNG is the state machine's only source of randomness: nonces, jitter and
// peer choice all draw from it, and its whole state is this one exported
// word, so it is cloned, hashed and replayed with the rest of State.
//
// The generator is SplitMix64 (Steele, Lea and Flood, 2014): one 64-bit
// word of state, full period, and the same output on every platform and Go
// version. math/rand/v2 would do as well, but the determinism rules keep
// the math/rand packages out of the core entirely, and a generator written
// here cannot change under us with a toolchain upgrade.
type RNG struct {
	S uint64
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) RNG { return RNG{S: seed} }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.S += 0x9e3779b97f4a7c15
	z := r.S
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Intn returns a uniform integer in [0, n); n must be positive (it returns
// 0 otherwise). It uses Lemire's multiply-and-reject, so it is unbiased.
func (r *RNG) Intn(n int) int {
	if n <= 0 {
		return 0
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), bound)
	if lo < bound {
		threshold := -bound % bound
		for lo < threshold {
			hi, lo = bits.Mul64(r.Uint64(), bound)
		}
	}
	return int(hi)
}

// Int63n returns a uniform int64 in [0, n); n must be positive.
func (r *RNG) Int63n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), bound)
	if lo < bound {
		threshold := -bound % bound
		for lo < threshold {
			hi, lo = bits.Mul64(r.Uint64(), bound)
		}
	}
	return int64(hi)
}

// Nonce returns a non-zero random 64-bit value; zero is kept to mean
// "no nonce".
func (r *RNG) Nonce() uint64 {
	for {
		if v := r.Uint64(); v != 0 {
			return v
		}
	}
}
