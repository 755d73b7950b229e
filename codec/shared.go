package codec

// Shared strings: a stream that repeats the same few strings (a log names
// the same peers in millions of records) writes each one in full once and
// refers to it by number afterwards, with the value-sharing tags of the
// CBOR tag registry:
//
//	tag 28 (shareable) + string   the string, which becomes the next entry
//	tag 29 (sharedref) + uint     entry n of the stream's table
//
// A plain string stays valid wherever a shared one may stand: an encoder
// that does not share (or whose table is full) writes plain strings, and
// its output reads the same. The table lives as long as the stream: the
// encoder and the decoder of one stream must see every item in the same
// order.
const (
	tagShareable = 28
	tagSharedRef = 29
	majorTag     = 6

	// MaxShared bounds a stream's table, and MaxSharedLen the strings
	// entered in it: a stream that meets ever more distinct strings (a
	// long-running node meets ever more peers) holds at most 4,096 of
	// 128 bytes, half a megabyte, and writes the rest in full.
	MaxShared    = 4096
	MaxSharedLen = 128
)

// Share makes Shared write repeated strings by reference. Only an encoder
// whose every output reaches one decoder in order may share: a record
// the reader never sees would leave its table behind the writer's.
func (e *Encoder) Share() {
	if e.shared == nil {
		e.shared = make(map[string]uint32)
	}
}

// Shared encodes s, a string the stream is likely to repeat (a peer ID):
// by reference if an earlier Shared entered it in the table, else in full,
// entering it if there is room. Without Share it is String.
func (e *Encoder) Shared(s string) {
	if e.shared == nil {
		e.String(s)
		return
	}
	if i, ok := e.shared[s]; ok {
		e.head(majorTag, tagSharedRef)
		e.head(majorUint, uint64(i))
		return
	}
	if len(s) > MaxSharedLen || len(e.shared) >= MaxShared {
		e.String(s)
		return
	}
	e.shared[s] = uint32(len(e.shared))
	e.head(majorTag, tagShareable)
	e.String(s)
}

// Share makes the decoder accept shared strings (SharedString), starting
// from the table prefix, which a decoder of the same stream gave out with
// SharedPrefix (nil at the stream's start).
func (d *Decoder) Share(prefix []string) {
	d.sharing, d.shared = true, prefix[:len(prefix):len(prefix)]
}

// SharedLen is the number of strings in the table, 0 without Share.
func (d *Decoder) SharedLen() int { return len(d.shared) }

// SharedPrefix returns the first n entries of the table, for a decoder
// that will read the stream from the point where the table held n (see
// Share). Entries never change once added and later ones go past the
// prefix, so the prefix may be handed to another goroutine (through a
// channel, say) while d decodes on.
func (d *Decoder) SharedPrefix(n int) []string {
	n = min(n, len(d.shared))
	return d.shared[:n:n]
}

// SharedString reads a string written by Encoder.Shared: a plain string
// (text, or bytes holding invalid UTF-8, as String reads it) of at most
// max bytes, or, after Share, a shareable string, which enters the table,
// or a reference to an entry.
func (d *Decoder) SharedString(max int) string {
	if !d.sharing || d.err != nil || d.off >= len(d.data) || d.data[d.off]>>5 != majorTag {
		return d.String(max)
	}
	start := d.off
	_, tag, _ := d.head()
	switch tag {
	case tagSharedRef:
		i := d.Uint()
		if d.err != nil {
			return ""
		}
		if i >= uint64(len(d.shared)) {
			d.FailAt(start, "reference to shared string %d of %d", i, len(d.shared))
			return ""
		}
		return d.shared[i]
	case tagShareable:
		if len(d.shared) >= MaxShared {
			d.FailAt(start, "a shared string beyond the table's %d", MaxShared)
			return ""
		}
		s := d.String(min(max, MaxSharedLen))
		if d.err != nil {
			return ""
		}
		d.shared = append(d.shared, s)
		return s
	}
	d.FailAt(start, "tag %d where a string belongs", tag)
	return ""
}
