package node

import (
	"github.com/p2pcore/p2pcore/replay"
)

// ReplayEvents replays an action log and derives from it the peer events
// the node that wrote it published, the way the node derives them: the
// test that events are "exactly what the log records".
func ReplayEvents(path string) ([]Event, error) {
	rd, err := replay.Open(path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var out []Event
	d := eventDeriver{emit: func(e Event) { out = append(out, e) }}
	r, err := replay.NewReplayer(rd, replay.Options{AfterAction: d.after})
	if err != nil {
		return nil, err
	}
	r.OnAction = func(e replay.Event) {
		if derives(e.Action) {
			d.before(r.State(), e.Meta, e.Action, e.NotEnabled == nil)
		}
	}
	if _, err := r.Run(); err != nil {
		return nil, err
	}
	return out, nil
}
