package replay

import (
	"bytes"
	"strings"
	"testing"
)

func verifyBytes(t *testing.T, data []byte) (Summary, error) {
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), "format.log")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReplayer(rd, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Run()
}

// TestFormat2LogsStillReplay: a log of format 2, whose command digests
// are the older CRC-32C and mix32 pair, replays completely with its
// commands checked; and the digest form follows the header, so a format-2
// log carrying current digests diverges at its first command.
func TestFormat2LogsStillReplay(t *testing.T) {
	v2 := feedLogWith(t, func(h *Header) { h.Format = 2 }, nil)
	sum, err := verifyBytes(t, v2)
	if err != nil || !sum.Complete {
		t.Fatalf("format 2: %v (%+v)", err, sum)
	}
	v3 := feedLog(t)
	if bytes.Equal(v2[200:], v3[200:]) {
		t.Fatal("format 2 and 3 logs of the same run are identical; the digests should differ")
	}
	if sum3, err := verifyBytes(t, v3); err != nil || sum3 != sum {
		t.Fatalf("format 3: %v (%+v, format 2 gave %+v)", err, sum3, sum)
	}
	mixed := feedLogWith(t, func(h *Header) { h.Format = 2 }, func(w *Writer) { w.enc.digest.Legacy, w.nowDigest.Legacy = false, false })
	_, err = verifyBytes(t, mixed)
	var div *DivergenceError
	if err == nil || !asDivergence(err, &div) || !strings.Contains(div.What, "command 1 of") {
		t.Fatalf("a format-2 log with current digests: %v, want a divergence at its first command", err)
	}
}

func asDivergence(err error, div **DivergenceError) bool {
	d, ok := err.(*DivergenceError)
	*div = d
	return ok
}
