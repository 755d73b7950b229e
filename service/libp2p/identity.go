package libp2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// KeyFile is the identity key's file name inside the data dir.
const KeyFile = "identity.key"

// GenerateKey creates a new Ed25519 identity.
func GenerateKey() (crypto.PrivKey, error) {
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	return priv, err
}

// WriteKey stores a key at path with mode 0600, refusing to overwrite an
// existing file: an identity is not something to lose by accident.
func WriteKey(path string, key crypto.PrivKey) error {
	raw, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return fmt.Errorf("identity key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("identity key %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
			return fmt.Errorf("identity key %s: is a directory; name a file", path)
		}
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("identity key %s: already exists; remove it first to replace this node's identity", path)
		}
		return fmt.Errorf("identity key %s: %w", path, err)
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return fmt.Errorf("identity key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("identity key %s: %w", path, err)
	}
	return f.Close()
}

// ReadKey loads a key written by WriteKey.
func ReadKey(path string) (crypto.PrivKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity key %s: %w", path, err)
	}
	key, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("identity key %s: not a libp2p private key: %w", path, err)
	}
	if key.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("identity key %s: a %s key; p2pcore uses Ed25519", path, key.Type())
	}
	return key, nil
}

// LoadOrCreateKey reads the key at path, creating it on first start. It
// reports whether the key is new.
func LoadOrCreateKey(path string) (crypto.PrivKey, bool, error) {
	key, err := ReadKey(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if key, err = GenerateKey(); err != nil {
		return nil, false, fmt.Errorf("identity key: %w", err)
	}
	if err := WriteKey(path, key); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// PeerIDOf is the peer ID of a key.
func PeerIDOf(key crypto.PrivKey) (peer.ID, error) { return peer.IDFromPrivateKey(key) }
