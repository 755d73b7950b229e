package good

import (
	"fmt"
	"io"
	"net/url"
)

// The fmt functions that format to a string or a writer the caller gives,
// and scan from a string, touch no standard stream.
func Describe(w io.Writer, n int) (string, error) {
	s := fmt.Sprint(n) + fmt.Sprintf("/%d", n) + fmt.Sprintln(n)
	var m int
	if _, err := fmt.Sscan(s, &m); err != nil {
		return "", err
	}
	if _, err := fmt.Sscanf(s, "%d", &m); err != nil {
		return "", err
	}
	_, err := fmt.Fprintln(w, m)
	return s, err
}

// Escape uses net/url, which does no I/O.
func Escape(s string) string { return url.QueryEscape(s) }
