package wirevectors

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Annotate prints CBOR bytes as the vectors of PROTOCOL.md show them: one
// item per line, its head and content in hex, and a comment that says
// what it is. label names the item at a path of array indexes ([1] is the
// second item of the outer array, [5 0] the first item inside that); ""
// leaves it unnamed. Bytes that are not the CBOR subset p2pcore uses are
// printed as plain hex from where the walk stopped.
func Annotate(b []byte, label func(path []int) string) string {
	a := &annotator{b: b, label: label}
	a.item(nil, 0)
	if a.off < len(b) {
		a.plain(b[a.off:], "not CBOR of the p2pcore subset, or trailing bytes")
	}
	width := 0
	for _, l := range a.lines {
		width = max(width, len(l.hex))
	}
	width = min(width, 56)
	var sb strings.Builder
	for _, l := range a.lines {
		sb.WriteString("  ")
		sb.WriteString(l.hex)
		if l.comment != "" {
			sb.WriteString(strings.Repeat(" ", max(width-len(l.hex), 0)+2))
			sb.WriteString("# ")
			sb.WriteString(l.comment)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

type annotated struct{ hex, comment string }

type annotator struct {
	b     []byte
	off   int
	label func([]int) string
	lines []annotated
	bad   bool
}

// contentPerLine is the most content bytes shown on one line.
const contentPerLine = 16

func (a *annotator) plain(b []byte, comment string) {
	for len(b) > 0 {
		n := min(len(b), contentPerLine)
		a.lines = append(a.lines, annotated{hex: hex.EncodeToString(b[:n]), comment: comment})
		b, comment = b[n:], ""
	}
}

// head reads an item head.
func (a *annotator) head() (major byte, arg uint64, n int, ok bool) {
	if a.off >= len(a.b) {
		return 0, 0, 0, false
	}
	c := a.b[a.off]
	major, info := c>>5, c&0x1f
	n = 1
	switch {
	case info < 24:
		return major, uint64(info), 1, true
	case info <= 27:
		size := 1 << (info - 24)
		if len(a.b)-a.off < 1+size {
			return 0, 0, 0, false
		}
		for i := 0; i < size; i++ {
			arg = arg<<8 | uint64(a.b[a.off+1+i])
		}
		return major, arg, 1 + size, true
	}
	return 0, 0, 0, false
}

func (a *annotator) item(path []int, depth int) {
	if a.bad {
		return
	}
	major, arg, n, ok := a.head()
	if !ok || depth > 16 {
		a.bad = true
		return
	}
	headHex := spacedHex(a.b[a.off : a.off+n])
	indent := strings.Repeat("  ", depth)
	name := ""
	if a.label != nil {
		name = a.label(path)
	}
	if name != "" {
		name += ": "
	}
	say := func(s string) {
		a.lines = append(a.lines, annotated{hex: indent + headHex, comment: indent + name + s})
	}
	switch major {
	case 0:
		a.off += n
		say(strconv.FormatUint(arg, 10))
	case 1:
		a.off += n
		say(negative(arg))
	case 2, 3:
		if arg > uint64(len(a.b)-a.off-n) {
			a.bad = true
			return
		}
		content := a.b[a.off+n : a.off+n+int(arg)]
		a.off += n + int(arg)
		kind := "text"
		if major == 2 {
			kind = "bytes"
		}
		desc := fmt.Sprintf("%s(%d)", kind, arg)
		if utf8.Valid(content) {
			desc += " " + strconv.Quote(string(content))
		}
		first := min(len(content), contentPerLine)
		line := indent + headHex
		if first > 0 {
			line += " " + hex.EncodeToString(content[:first])
		}
		a.lines = append(a.lines, annotated{hex: line, comment: indent + name + desc})
		for rest := content[first:]; len(rest) > 0; {
			k := min(len(rest), contentPerLine)
			a.lines = append(a.lines, annotated{hex: indent + strings.Repeat(" ", len(headHex)+1) + hex.EncodeToString(rest[:k])})
			rest = rest[k:]
		}
	case 4:
		a.off += n
		say(fmt.Sprintf("array(%d)", arg))
		for i := uint64(0); i < arg && !a.bad; i++ {
			a.item(append(append([]int(nil), path...), int(i)), depth+1)
		}
	case 7:
		a.off += n
		switch arg {
		case 20:
			say("false")
		case 21:
			say("true")
		default:
			say(fmt.Sprintf("simple(%d)", arg))
		}
	default:
		a.bad = true
	}
}

// negative is -1-arg in decimal, exact for every 64-bit arg.
func negative(arg uint64) string {
	if arg == ^uint64(0) {
		return "-18446744073709551616"
	}
	return "-" + strconv.FormatUint(arg+1, 10)
}

func spacedHex(b []byte) string { return Spaced(b) }
