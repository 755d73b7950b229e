package effects

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/service"
	"github.com/p2pcore/p2pcore/state"
)

// wire is our channel ch's number at a peer (0 if it is gone).
func wire(s *state.State, id state.PeerID, ch state.Channel) state.Channel {
	if p, ok := s.Peers[id]; ok && int(ch) < len(p.Remote) {
		return p.Remote[ch]
	}
	return 0
}

// sendRequest writes the request the reducer just numbered.
func sendRequest(s *state.State, a action.SendRequest, out Out) {
	out.Command(service.Request{Peer: a.Peer, Channel: a.Channel, Wire: wire(s, a.Peer, a.Channel),
		ID: s.Requests.NextID, Data: a.Data, Size: a.Size, Sum: a.Sum})
}

// respond writes an answer to a peer's request: the application's, or a
// refusal the reducer decided.
func respond(s *state.State, peer state.PeerID, ch state.Channel, id uint64, st state.RequestStatus, data []byte, size uint64, sum [32]byte, out Out) {
	out.Command(service.Respond{Peer: peer, Channel: ch, Wire: wire(s, peer, ch), ID: id, Status: st, Data: data, Size: size, Sum: sum})
}
