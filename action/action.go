// Package action defines every action that can change a p2pcore State, the
// metadata each dispatched action carries, and their encoding in the action
// log.
//
// Input actions enter from outside the state machine — service events
// (Connected, MessageReceived, …), API calls (Connect, BroadcastMessage, …)
// and Tick — and are recorded in full. Derived actions are queued by
// reducers and effects (HelloReceived, PeerReady, PingSend, …) and are
// recorded as kind and ID only, since a replay recomputes them.
package action

import (
	"fmt"
	"strconv"

	"github.com/p2pcore/p2pcore/codec"
)

// Kind is the stable number of an action type. Kinds are written to logs:
// never renumber one, only append.
type Kind uint16

// Meta is what the store attaches to every dispatched action.
type Meta struct {
	// ID numbers actions in dispatch order, from 1.
	ID uint64
	// Time is when the action happened, in ns: an input's time comes from
	// the injected clock (never decreasing); a derived action inherits the
	// time of the input that caused it.
	Time int64
	// Parent is the ID of the action that queued this one; 0 for inputs.
	Parent uint64
}

// Action is one typed action.
type Action interface {
	// Kind is the action's stable number.
	Kind() Kind
	// EncodeCBOR appends the action's fields as one CBOR array.
	EncodeCBOR(e *codec.Encoder)
}

// Queue receives the derived actions a reducer or an effect produces; the
// store drains it in FIFO order after the current action.
type Queue interface {
	Push(a Action)
}

// kindInfo describes one kind.
type kindInfo struct {
	name string
	// input is set for kinds that may enter from outside the state
	// machine; they are recorded in full.
	input  bool
	decode func(d *codec.Decoder) Action
	zero   func() Action
}

// maxKind bounds kind numbers so the registry is a plain array.
const maxKind = 256

var kinds [maxKind]*kindInfo

// Limits on decoded fields. They are generous — anything the node itself
// produces must decode again from its log — and exist so that a corrupt log
// cannot make the reader allocate without bound.
const (
	// MaxString bounds a string field (a peer ID, an address, an error).
	MaxString = 64 << 10
	// MaxData bounds a message payload.
	MaxData = 64 << 20
	// MaxList bounds a list field.
	MaxList = 1 << 16
)

// Limits are the decoder's limits, for an encoder to check what it writes
// against (see codec.Encoder.SetLimits).
func Limits() codec.Limits {
	return codec.Limits{String: MaxString, Bytes: MaxData, Array: MaxList}
}

// Recordable returns nil if a can be written to an action log and read
// back, or an error naming the field over the log's limits.
func Recordable(a Action) error {
	var e codec.Encoder
	e.SetLimits(Limits())
	a.EncodeCBOR(&e)
	if err := e.Over(); err != nil {
		return fmt.Errorf("%s cannot be recorded: %w", a.Kind(), err)
	}
	return nil
}

// register is called from each area file's init. Registration happens once
// at program start, before any dispatch, in source order within a file.
func register[T Action](k Kind, name string, input bool, decode func(d *codec.Decoder) T) {
	if k == 0 || k >= maxKind || kinds[k] != nil {
		panic(fmt.Sprintf("action: kind %d is out of range or registered twice", k))
	}
	kinds[k] = &kindInfo{
		name:   name,
		input:  input,
		decode: func(d *codec.Decoder) Action { return decode(d) },
		zero:   func() Action { var z T; return z },
	}
}

// info returns a copy of k's entry: the registry is written only while the
// package initialises, and a copy keeps it that way (the determinism
// checker's package-level variable rule).
func (k Kind) info() (kindInfo, bool) {
	if k >= maxKind || kinds[k] == nil {
		return kindInfo{}, false
	}
	return *kinds[k], true
}

// String names the value for logs and traces.
func (k Kind) String() string {
	if info, ok := k.info(); ok {
		return info.name
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Known reports whether k is a registered kind.
func (k Kind) Known() bool { return k < maxKind && kinds[k] != nil }

// Input reports whether actions of kind k may enter from outside the state
// machine (and so are recorded in full).
func (k Kind) Input() bool {
	// Read in place, not through info: this runs for every action, and
	// copying the whole entry to read one flag showed in profiles.
	return k < maxKind && kinds[k] != nil && kinds[k].input
}

// Kinds lists every registered kind in ascending order.
func Kinds() []Kind {
	var out []Kind
	for k := Kind(1); k < maxKind; k++ {
		if k.Known() {
			out = append(out, k)
		}
	}
	return out
}

// KindByName finds a kind by its name.
func KindByName(name string) (Kind, bool) {
	for _, k := range Kinds() {
		if kinds[k].name == name {
			return k, true
		}
	}
	return 0, false
}

// Zero returns the zero value of kind k's action type.
func Zero(k Kind) (Action, bool) {
	info, ok := k.info()
	if !ok {
		return nil, false
	}
	return info.zero(), true
}

// Encode appends the CBOR encoding of a's fields to e.
func Encode(e *codec.Encoder, a Action) { a.EncodeCBOR(e) }

// Decode reads an action of kind k from d and checks that nothing is left.
func Decode(k Kind, d *codec.Decoder) (Action, error) {
	if !k.Known() {
		return nil, fmt.Errorf("unknown action kind %d", k)
	}
	a := kinds[k].decode(d)
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", k, err)
	}
	return a, nil
}

// DecodeItem reads an action of kind k as Decode does, but as one item of
// a longer sequence: bytes may follow it.
func DecodeItem(k Kind, d *codec.Decoder) (Action, error) {
	if !k.Known() {
		return nil, fmt.Errorf("unknown action kind %d", k)
	}
	a := kinds[k].decode(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", k, err)
	}
	return a, nil
}

// Unmarshal decodes an action of kind k from b.
func Unmarshal(k Kind, b []byte) (Action, error) {
	return Decode(k, codec.NewDecoder(b))
}

// Marshal encodes a in a new slice.
func Marshal(a Action) []byte {
	var e codec.Encoder
	a.EncodeCBOR(&e)
	return e.Encoded()
}
