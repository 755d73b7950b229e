package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Cut is the example session protocol, after Chainweb's cut exchange: a
// node's cut is the highest block height it knows of each chain, and a
// session between two nodes sends each side's cut to the other until
// both agree, each side keeping the higher height of every chain. Cut is
// safe for concurrent use: every session of every chain of a node shares
// it.
type Cut struct {
	mu      sync.Mutex
	heights []uint64
}

// NewCut returns a cut of chains chains, all at height 0.
func NewCut(chains int) *Cut { return &Cut{heights: make([]uint64, chains)} }

// Heights returns a copy of the heights.
func (c *Cut) Heights() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.heights)
}

// Advance raises chain's height by one (a block mined or received
// locally).
func (c *Cut) Advance(chain int) {
	c.mu.Lock()
	c.heights[chain]++
	c.mu.Unlock()
}

// merge raises each height to the other cut's, and returns the result.
func (c *Cut) merge(other []uint64) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range min(len(other), len(c.heights)) {
		c.heights[i] = max(c.heights[i], other[i])
	}
	return slices.Clone(c.heights)
}

// MaxChains bounds the chains of a cut message.
const MaxChains = 1024

// EncodeCut writes heights as a count and that many unsigned varints.
func EncodeCut(heights []uint64) []byte {
	b := binary.AppendUvarint(nil, uint64(len(heights)))
	for _, h := range heights {
		b = binary.AppendUvarint(b, h)
	}
	return b
}

// DecodeCut reads what EncodeCut wrote, refusing anything else.
func DecodeCut(b []byte) ([]uint64, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > MaxChains {
		return nil, errors.New("cut: bad chain count")
	}
	b = b[k:]
	out := make([]uint64, 0, n)
	for range n {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errors.New("cut: truncated height")
		}
		out, b = append(out, h), b[k:]
	}
	if len(b) > 0 {
		return nil, fmt.Errorf("cut: %d bytes after the heights", len(b))
	}
	return out, nil
}

// Session returns the cut exchange as a Session. Each side sends its cut,
// and again whenever what it receives raises it; on receiving a cut equal
// to its own the two agree. With untilAgreed the session then returns
// (success: its close lets the peer read the cut and agree too);
// otherwise it keeps listening for newer cuts until it times out, which
// counts as a success too. A malformed cut fails the session.
func (c *Cut) Session(untilAgreed bool) Session {
	return func(ctx context.Context, conn Conn) error {
		sent := c.Heights()
		if err := conn.Send(ctx, EncodeCut(sent)); err != nil {
			return err
		}
		agreed := false
		for {
			msg, err := conn.Receive(ctx)
			if errors.Is(err, ErrClosed) && agreed {
				return nil
			}
			if err != nil {
				return err
			}
			theirs, err := DecodeCut(msg)
			if err != nil {
				return err
			}
			mine := c.merge(theirs)
			agreed = slices.Equal(mine, theirs)
			if !slices.Equal(mine, sent) {
				if err := conn.Send(ctx, EncodeCut(mine)); err != nil {
					return err
				}
				sent = mine
			}
			if agreed && untilAgreed {
				return conn.Close()
			}
		}
	}
}
