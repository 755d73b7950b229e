// Package replay writes and reads p2pcore action logs and replays them.
//
// # Log format (version 4)
//
//	file    = magic record*
//	magic   = "P2PCLOG\n"                                  8 bytes
//	record  = crc len type payload
//	crc     = CRC-32C (Castagnoli) of len‖type‖payload     4 bytes, little endian
//	len     = byte length of type‖payload                  unsigned LEB128
//	type    = 1 header | 2 input | 3 derived | 4 checkpoint | 5 end | 6 commands
//
// Payloads are CBOR in its core deterministic form. The header (always the
// first record) is a CBOR map: format version, build version, network, our
// peer ID and addresses, the full Config, the RNG seed, the start time, the
// checkpoint interval and the hash of the initial state. The other payloads
// are CBOR sequences:
//
//	input      = kind  id−prevID  time−prevTime  action-array  [commands]
//	peer ID    = string | 28(string) | 29(n)        (in an action-array)
//	derived    = kind·2+dropped  id−prevID  id−parent
//	commands   = [ [command-kind  channel  size  digest(8 bytes)] … ]
//	checkpoint = lastID  hash(32 bytes)  [section-hash(8 bytes)…]
//	end        = lastID  hash(32 bytes)  [section-hash(8 bytes)…]
//
// A peer ID in an input is a plain string, or (version 4) a string with
// CBOR's shareable tag 28, which enters it in the log's table of shared
// strings, or tag 29 and n, entry n of that table: the log names each peer
// in full once (codec.Encoder.Shared). The table is the log's from start
// to end, at most codec.MaxShared entries; a Position carries it.
//
// In version 4 an input's commands (the array of a commands record) follow
// its action in the input's own record, one record an action; only where
// a writer's batch ended between the two do they take a record of their
// own, as in earlier versions and as every derived action's do.
//
// Inputs are recorded in full, derived actions as kind and ID (a replay
// recomputes them and checks they match), and the state hash every
// CheckpointEvery actions and at the end. A commands record follows the
// input or derived record of every action whose effects produced
// commands: for each command its kind, channel and size (payload bytes,
// addresses, entries or stream number) and a 64-bit checksum (a
// four-lane multiplicative hash; in version 2, CRC-32C and a one-lane
// hash side by side; in version 4 the payload's hash apart, combined with
// the hash of the other fields) over all its fields, target and payload
// included — a payload over the record limit by its SHA-256
// (service.Digester) — so a replay that would dial, send, close or deliver
// anything else is caught at that action. A log without its end record was cut short: the reader
// reports how many records were good. Version 1 logs, which have no
// commands records, are read and replayed with their commands unchecked.
package replay

import (
	"hash/crc32"
	"runtime"

	"github.com/p2pcore/p2pcore/state"
)

// Magic opens every log file.
const Magic = "P2PCLOG\n"

// FormatVersion is the version of the record layout.
// Version 4 names a peer in full once and by number afterwards, puts an
// input's commands in its own record and digests a payload apart (see the
// package comment); version 3 changed only the command digest
// (service.Digester). Versions 1 to 3 are still read and replayed.
const FormatVersion = 4

// Version is the p2pcore release; logs record it with the Go version.
const Version = "0.1.0"

// BuildVersion names the build that writes a log. A replay by another build
// is allowed but may diverge if the rules changed.
func BuildVersion() string { return "p2pcore/" + Version + " " + runtime.Version() }

// Record types.
const (
	RecordHeader     byte = 1
	RecordInput      byte = 2
	RecordDerived    byte = 3
	RecordCheckpoint byte = 4
	RecordEnd        byte = 5
	RecordCommands   byte = 6
)

// MaxRecord bounds one record; it leaves room for the largest message an
// action may carry.
const MaxRecord = 64<<20 + 64<<10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the first record of a log: everything needed to rebuild the
// initial state and check it.
type Header struct {
	Format          int          `cbor:"format"`
	Build           string       `cbor:"build"`
	Network         string       `cbor:"network"`
	Self            state.Self   `cbor:"self"`
	Config          state.Config `cbor:"config"`
	Seed            uint64       `cbor:"seed"`
	StartTime       int64        `cbor:"start_time"`
	CheckpointEvery uint64       `cbor:"checkpoint_every"`
	InitialHash     []byte       `cbor:"initial_hash"`
}

// NewHeader describes a log of a node that starts from st.
func NewHeader(st *state.State, seed uint64, checkpointEvery uint64) Header {
	h := st.Hash()
	return Header{
		Format:          FormatVersion,
		Build:           BuildVersion(),
		Network:         st.Config.Network,
		Self:            st.Self,
		Config:          st.Config,
		Seed:            seed,
		StartTime:       st.Now,
		CheckpointEvery: checkpointEvery,
		InitialHash:     h[:],
	}
}

// InitialState rebuilds the state the logged node started from.
func (h *Header) InitialState() *state.State {
	return state.New(h.Config, h.Self, h.Seed, h.StartTime)
}
