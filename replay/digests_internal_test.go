package replay

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/p2pcore/p2pcore/codec"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// digestRecord encodes digests as a writer's commands record holds them.
func digestRecord(ds []service.Digest) []byte {
	var buf bytes.Buffer
	e := &logEncoder{w: &buf}
	e.commands(make([]service.Command, len(ds)), ds)
	// The record's payload is what follows its checksum, length and type.
	_, k := binary.Uvarint(e.out[4:])
	return e.out[4+k+1:]
}

// FuzzQuickDigests holds the quick reader of commands records to the
// decoder: whatever bytes it accepts, the decoder accepts too and reads as
// the same digests.
func FuzzQuickDigests(f *testing.F) {
	f.Add(digestRecord([]service.Digest{{Kind: service.CmdDeliver, Channel: 3, Size: 128, Sum: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}}))
	f.Add(digestRecord([]service.Digest{{Kind: service.CmdSend, Channel: 0, Size: 23}, {Kind: service.CmdClose, Size: 65535}}))
	f.Add(digestRecord([]service.Digest{{Kind: service.CmdSend, Size: 65536}}))
	f.Add([]byte{0x81, 0x84, 0x01, 0x00, 0x18, 0x05, 0x48, 0, 0, 0, 0, 0, 0, 0, 0}) // size 5 in a long form
	f.Fuzz(func(t *testing.T, b []byte) {
		quick, ok := quickDigests(b, nil)
		if !ok {
			return
		}
		d := codec.NewDecoder(b)
		slow, msg := decodeDigests(d, nil)
		if err := d.Finish(); msg != "" || err != nil {
			t.Fatalf("quick read %x as %v; the decoder refuses it: %q %v", b, quick, msg, err)
		}
		if len(quick) != len(slow) {
			t.Fatalf("quick read %d digests, the decoder %d", len(quick), len(slow))
		}
		for i := range quick {
			if quick[i] != slow[i] {
				t.Fatalf("digest %d: quick %+v, decoder %+v", i, quick[i], slow[i])
			}
		}
	})
}

// TestQuickDigestsReadsWhatWritersWrite checks the quick reader takes the
// records writers produce (else it would be dead code) and leaves the
// forms it does not know to the decoder.
func TestQuickDigestsReadsWhatWritersWrite(t *testing.T) {
	var ds []service.Digest
	for i := 0; i < 23; i++ {
		ds = append(ds, service.Digest{Kind: service.CmdDeliver, Channel: 2, Size: uint64(i * 2_000), Sum: [8]byte{byte(i)}})
	}
	got, ok := quickDigests(digestRecord(ds), nil)
	if !ok || len(got) != len(ds) {
		t.Fatalf("quick read %d of %d digests (ok %v)", len(got), len(ds), ok)
	}
	for i := range ds {
		if got[i] != ds[i] {
			t.Fatalf("digest %d: %+v, want %+v", i, got[i], ds[i])
		}
	}
	for _, ds := range [][]service.Digest{
		make([]service.Digest, 24),                     // 24 digests: a longer array head
		{{Kind: service.CmdDeliver, Size: 1 << 16}},    // a four-byte size
		{{Kind: service.CmdDeliver, Channel: 24}},      // a two-byte channel
		{{Kind: service.CommandKind(200), Channel: 1}}, // an unknown kind
	} {
		for i := range ds {
			if ds[i].Kind == 0 {
				ds[i].Kind = service.CmdSend
			}
		}
		if _, ok := quickDigests(digestRecord(ds), nil); ok {
			t.Errorf("quick reader took %+v, which is for the decoder", ds)
		}
	}
}

// TestAppendDigestMatchesEncoder holds the writer's one-step digest
// encoding to the encoder's, item by item, on every boundary of the
// integer forms and for kinds and channels past the one-byte form.
func TestAppendDigestMatchesEncoder(t *testing.T) {
	sizes := []uint64{0, 1, 23, 24, 25, 255, 256, 4096, 65535, 65536, 1 << 32, 1<<64 - 1}
	small := []uint8{0, 1, 5, 23, 24, 25, 200, 255}
	n := 0
	for _, size := range sizes {
		for _, k := range small {
			for _, ch := range small {
				d := service.Digest{Kind: service.CommandKind(k), Channel: state.Channel(ch), Size: size, Sum: [8]byte{byte(k), 2, 3, 4, 5, 6, 7, byte(ch)}}
				var e codec.Encoder
				e.AppendTo([]byte{0xaa})
				encodeDigest(&e, &d)
				want := e.Encoded()
				got := appendDigest([]byte{0xaa}, &d)
				if !bytes.Equal(got, want) {
					t.Fatalf("digest %+v: appended %x, the encoder gives %x", d, got, want)
				}
				n++
			}
		}
	}
	if n != len(sizes)*len(small)*len(small) {
		t.Fatalf("checked %d digests", n)
	}
}
