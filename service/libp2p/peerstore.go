package libp2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// The peer store file holds the address book and the bans:
//
//	"P2PCPEER\n" ‖ CRC-32C of the body (4 bytes, LE) ‖ body
//
// where the body is the CBOR encoding of a PeerStoreLoaded action, the
// action a node dispatches when it loads the file — so the load is in the
// action log like any other input, and a replay starts from the same book.

const peerStoreMagic = "P2PCPEER\n"

// PeerStoreFile is the peer store's file name inside the data dir.
const PeerStoreFile = "peers.cbor"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// EncodePeerStore returns the file contents for ps.
func EncodePeerStore(ps state.PeerStore) []byte {
	body := action.Marshal(action.PeerStoreLoaded{Store: ps})
	out := make([]byte, 0, len(peerStoreMagic)+4+len(body))
	out = append(out, peerStoreMagic...)
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(body, crcTable))
	return append(out, body...)
}

// LoadPeerStore reads a peer store file. A missing file is an empty store.
func LoadPeerStore(path string) (state.PeerStore, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return state.PeerStore{}, nil
	}
	if err != nil {
		return state.PeerStore{}, fmt.Errorf("peer store %s: %w", path, err)
	}
	if !bytes.HasPrefix(raw, []byte(peerStoreMagic)) || len(raw) < len(peerStoreMagic)+4 {
		return state.PeerStore{}, fmt.Errorf("peer store %s: not a p2pcore peer store", path)
	}
	body := raw[len(peerStoreMagic)+4:]
	if want := binary.LittleEndian.Uint32(raw[len(peerStoreMagic):]); crc32.Checksum(body, crcTable) != want {
		return state.PeerStore{}, fmt.Errorf("peer store %s: checksum mismatch (the file is damaged)", path)
	}
	a, err := action.Unmarshal(action.KindPeerStoreLoaded, body)
	if err != nil {
		return state.PeerStore{}, fmt.Errorf("peer store %s: %w", path, err)
	}
	return a.(action.PeerStoreLoaded).Store, nil
}

// WritePeerStore replaces the file atomically: write a temporary file,
// sync it, rename it over the old one, sync the directory.
func WritePeerStore(path string, ps state.PeerStore) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".peers-*.tmp")
	if err != nil {
		return fmt.Errorf("peer store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(EncodePeerStore(ps)); err != nil {
		tmp.Close()
		return fmt.Errorf("peer store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("peer store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("peer store: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("peer store: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// saver writes peer stores in the background; a newer snapshot replaces
// one not yet written.
type saver struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	cond *sync.Cond
	next *state.PeerStore
	done bool
	wg   sync.WaitGroup
}

func newSaver(path string, log *slog.Logger) *saver {
	s := &saver{path: path, log: log}
	s.cond = sync.NewCond(&s.mu)
	s.wg.Add(1)
	go s.run()
	return s
}

func (s *saver) save(ps state.PeerStore) {
	s.mu.Lock()
	s.next = &ps
	s.cond.Signal()
	s.mu.Unlock()
}

// stop writes the last snapshot, if any, and returns.
func (s *saver) stop() {
	s.mu.Lock()
	s.done = true
	s.cond.Signal()
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *saver) run() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for s.next == nil && !s.done {
			s.cond.Wait()
		}
		ps, done := s.next, s.done
		s.next = nil
		s.mu.Unlock()
		if ps != nil && s.path != "" {
			if err := WritePeerStore(s.path, *ps); err != nil {
				s.log.Error("saving the peer store", "err", err)
			}
		}
		if done {
			return
		}
	}
}
