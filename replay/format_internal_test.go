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
	v3 := feedLogWith(t, func(h *Header) { h.Format = 3 }, nil)
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

// TestFormat4SharesPeersAndSeparatesPayloads: the same run written as
// format 3 and as format 4 replays to the same summary; format 4 names
// each peer in full once and is the shorter; and the digest form follows
// the header, so a format-3 log with format-4 digests diverges at its
// first command.
func TestFormat4SharesPeersAndSeparatesPayloads(t *testing.T) {
	v3 := feedLogWith(t, func(h *Header) { h.Format = 3 }, nil)
	v4 := feedLog(t)
	sum3, err := verifyBytes(t, v3)
	if err != nil || !sum3.Complete {
		t.Fatalf("format 3: %v (%+v)", err, sum3)
	}
	sum4, err := verifyBytes(t, v4)
	if err != nil || sum4 != sum3 {
		t.Fatalf("format 4: %v (%+v, format 3 gave %+v)", err, sum4, sum3)
	}
	// 40 peers: each named in full once in a format-4 log, by a shareable
	// tag (0xd8 0x1c) before its ID.
	if n := bytes.Count(v4, []byte("\xd8\x1c\x67peer-")); n != 40 {
		t.Fatalf("%d shared peer IDs, want 40", n)
	}
	if bytes.Contains(v3, []byte{0xd8, 0x1d}) {
		t.Fatal("a format-3 log holds shared references")
	}
	// The peer IDs here are 7 bytes long; real ones, 52 (BenchmarkReplay's
	// log: 219 bytes an action in format 3, 169 in format 4).
	if len(v4) >= len(v3) {
		t.Fatalf("format 4 log of %d bytes, format 3 %d: expected shorter", len(v4), len(v3))
	}
	t.Logf("format 3: %d bytes, format 4: %d bytes", len(v3), len(v4))
	mixed := feedLogWith(t, func(h *Header) { h.Format = 3 }, func(w *Writer) { w.enc.digest.Separate, w.nowDigest.Separate = true, true })
	_, err = verifyBytes(t, mixed)
	var div *DivergenceError
	if err == nil || !asDivergence(err, &div) || !strings.Contains(div.What, "command 1 of") {
		t.Fatalf("a format-3 log with format-4 digests: %v, want a divergence at its first command", err)
	}
}
