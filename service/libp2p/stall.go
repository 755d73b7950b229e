package libp2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pcore/p2pcore/action"
	"github.com/p2pcore/p2pcore/state"
)

// watchStalls reports writes that make no progress: a direct writer with
// frames waiting and no byte moved for Rules.WriteStallTimeout, and a
// GossipSub queue that is full (holding back every broadcast) and has not
// moved for Rules.GossipStallTimeout. Each stall is reported once, as
// WriteStalled; what to do about it is the state machine's decision.
func (s *Service) watchStalls() {
	defer s.wg.Done()
	rules := s.cfg.Rules
	every := max(min(rules.WriteStallTimeout, rules.GossipStallTimeout)/4, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	stats := time.NewTicker(statsEvery)
	defer stats.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-stats.C:
			s.gossip.flush(now)
		case now := <-t.C:
			s.checkWriters(now)
			for p, n := range s.flow.stalls(rules.GossipStallTimeout, now) {
				s.reportStall(p, true, n)
			}
		}
	}
}

func (s *Service) checkWriters(now time.Time) {
	limit := s.cfg.Rules.WriteStallTimeout.Nanoseconds()
	s.mu.Lock()
	var stalled []*writer
	for _, w := range s.writers {
		if w.pending.Load() > 0 && now.UnixNano()-w.progressAt.Load() >= limit && !w.stalled.Load() && !w.closed() {
			w.stalled.Store(true)
			stalled = append(stalled, w)
		}
	}
	s.mu.Unlock()
	for _, w := range stalled {
		s.reportStall(w.p, false, int(w.pending.Load()))
	}
}

func (s *Service) reportStall(p peer.ID, gossip bool, queued int) {
	s.log.Debug("writes to a peer stalled", "peer", p, "gossip", gossip, "queued", queued)
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.emit(action.WriteStalled{Peer: state.PeerID(p.String()), Gossip: gossip, Queued: uint32(min(max(queued, 0), 1<<31))})
}
