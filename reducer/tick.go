package reducer

import (
	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// reduceTick lets time pass. The order is fixed: drop what timed out, ping
// the idle, forget expired bans, release a bootnode no longer needed and
// refill the outbound target (unless the node is stopping), save. The
// Disconnects queued here apply after this reducer returns, so places they
// free are refilled on the next tick.
func reduceTick(s *state.State, q action.Queue) {
	tickHandshakes(s, q)
	tickServicePeers(s, q)
	tickThrottles(s, q)
	tickPings(s, q)
	tickRequests(s, q)
	tickBans(s)
	if !s.Stopping {
		tickBootnodes(s, q)
		tickOutbound(s, q)
		tickDHT(s, q)
	}
	tickSessions(s, q)
	tickHTTP(s, q)
	tickSave(s, q)
}
