package configfile

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeUnits are the units a size may be written in, largest first. Only
// binary units: "MB" is ambiguous, "MiB" is not.
var sizeUnits = []struct {
	name string
	n    int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// ParseSize reads a number of bytes written as a whole number with an
// optional unit — B, KiB, MiB or GiB, powers of 1024 — and optional space
// before it: "4096", "64KiB", "10 MiB".
func ParseSize(s string) (int64, error) {
	bad := func() (int64, error) {
		return 0, fmt.Errorf(`%q: not a size (want a whole number of bytes, B, KiB, MiB or GiB, e.g. "10MiB")`, s)
	}
	num := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(num, u.name); ok {
			num, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	if num == "" || num[0] == '+' {
		return bad()
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%q: out of range", s)
		}
		return bad()
	}
	if n > 0 && n > (1<<63-1)/mult || n < 0 && n < -(1<<63-1)/mult {
		return 0, fmt.Errorf("%q: out of range", s)
	}
	return n * mult, nil
}

// FormatSize writes n with the largest unit that divides it, without a
// space ("10MiB", "1536KiB"); a number below 1 KiB, or not a whole number
// of KiB, stays a plain number of bytes ("1000").
func FormatSize(n int64) string {
	for _, u := range sizeUnits[:3] {
		if n != 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
