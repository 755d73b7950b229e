package message

import (
	"encoding/binary"

	"github.com/p2pcore/p2pcore/state"
)

// Peer IDs are accepted only in their canonical text form, so that one
// peer has one name. Under libp2p several texts decode to the same peer
// (the CIDv1 form "bafz…" of "12D3KooW…", for one); were both accepted,
// an alias of a connected peer would enter the address book as a second
// peer, and closing the alias would close the real one.
//
// The libp2p canonical form is what go-libp2p's peer.ID.String prints: the
// base58btc text of the peer's multihash — an identity multihash of a key
// of at most 42 bytes (Ed25519 "12D3KooW…", secp256k1 "16Uiu2…") or a
// SHA2-256 multihash ("Qm…"). peer.Decode(s) succeeds and .String() == s
// exactly for these.

// maxInlineKey is the longest key libp2p inlines in an identity multihash.
const maxInlineKey = 42

// Multihash codes a libp2p peer ID uses.
const (
	mhIdentity = 0x00
	mhSHA256   = 0x12
)

// CanonicalPeerID reports whether s is a peer ID in the canonical text form
// of the scheme.
func CanonicalPeerID(scheme state.IDScheme, s string) bool {
	if len(s) == 0 || len(s) > MaxPeerIDLen {
		return false
	}
	if scheme == state.IDsNames {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return false
			}
		}
		return len(s) <= 64
	}
	b, ok := base58Decode(s)
	if !ok {
		return false
	}
	code, n := binary.Uvarint(b)
	if n <= 0 {
		return false
	}
	length, m := binary.Uvarint(b[n:])
	if m <= 0 || uint64(len(b)-n-m) != length {
		return false
	}
	switch code {
	case mhIdentity:
		if length == 0 || length > maxInlineKey {
			return false
		}
	case mhSHA256:
		if length != 32 {
			return false
		}
	default:
		return false
	}
	return base58Encode(b) == s
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Decode decodes base58btc (Bitcoin's alphabet). Each leading '1' is
// a zero byte.
func base58Decode(s string) ([]byte, bool) {
	var index [256]int8
	for i := range index {
		index[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		index[base58Alphabet[i]] = int8(i)
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// Big-endian base-256 digits of the number, grown as needed.
	var num []byte
	for i := zeros; i < len(s); i++ {
		d := index[s[i]]
		if d < 0 {
			return nil, false
		}
		carry := int(d)
		for j := len(num) - 1; j >= 0; j-- {
			carry += int(num[j]) * 58
			num[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			num = append([]byte{byte(carry)}, num...)
			carry >>= 8
		}
	}
	return append(make([]byte, zeros), num...), true
}

// base58Encode encodes b in base58btc.
func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// Little-endian base-58 digits.
	var digits []byte
	for _, c := range b[zeros:] {
		carry := int(c)
		for j := range digits {
			carry += int(digits[j]) << 8
			digits[j] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits = append(digits, byte(carry%58))
			carry /= 58
		}
	}
	out := make([]byte, 0, zeros+len(digits))
	for range zeros {
		out = append(out, '1')
	}
	for i := len(digits) - 1; i >= 0; i-- {
		out = append(out, base58Alphabet[digits[i]])
	}
	return string(out)
}
