package state

// Streams a peer opened to us are admitted by the state machine (see
// reducer/stream.go); a peer records those it holds in Peer.Streams.

// HasStream reports whether the peer holds the accepted inbound stream id.
func (p *Peer) HasStream(id uint64) bool {
	for _, s := range p.Streams {
		if s == id {
			return true
		}
	}
	return false
}
