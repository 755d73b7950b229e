package inspect

import (
	"time"

	"github.com/p2pcore/p2pcore/replay"
	"github.com/p2pcore/p2pcore/state"
)

// sampleEvery is the log time between two samples of the charts.
const sampleEvery = int64(time.Second)

// maxSamples bounds the samples kept: past it, every other one is dropped
// and the interval doubles, so a log of any length costs the same.
const maxSamples = 4096

// Series are the charts of a log: the state sampled at input boundaries,
// about once a second of log time. Counters are cumulative; the page turns
// them into rates.
type Series struct {
	// Channels names the channels, by number.
	Channels []string `json:"channels"`
	Samples  []Sample `json:"samples"`
	// Interval is the log time between samples, in ns.
	Interval int64 `json:"interval"`
}

// Sample is the state at one moment.
type Sample struct {
	// T is the log time, in ns since the Unix epoch; ID the last action.
	T  int64  `json:"t"`
	ID uint64 `json:"id"`
	// Peers by status; ready ones by direction.
	ReadyIn     int `json:"ready_in"`
	ReadyOut    int `json:"ready_out"`
	Connecting  int `json:"connecting"`
	Handshaking int `json:"handshaking"`
	// Per channel: messages received, sent (direct) and published.
	Received  []uint64 `json:"received"`
	Sent      []uint64 `json:"sent"`
	Published []uint64 `json:"published"`
	// RTTMean and RTTMax are over the ready peers' last ping, in ns.
	RTTMean int64 `json:"rtt_mean"`
	RTTMax  int64 `json:"rtt_max"`
	// Disconnects by our reason, RemoteDisconnects by theirs, Offences by
	// kind: totals so far.
	Disconnects       map[string]uint64 `json:"disconnects"`
	RemoteDisconnects map[string]uint64 `json:"remote_disconnects"`
	Offences          map[string]uint64 `json:"offences"`
	Bans              int               `json:"bans"`
}

type sampler struct {
	s    *Series
	next int64
}

func newSampler(s *Series, h replay.Header) *sampler {
	s.Channels = h.Config.ChannelNames()
	s.Interval = sampleEvery
	return &sampler{s: s, next: h.StartTime}
}

// sample takes a sample if the state's clock has reached the next one.
func (sm *sampler) sample(st *state.State, id uint64) {
	if st.Now < sm.next {
		return
	}
	sm.take(st, id)
}

func (sm *sampler) finish(st *state.State, id uint64) { sm.take(st, id) }

func (sm *sampler) take(st *state.State, id uint64) {
	s := sm.s
	sample := sampleOf(st)
	sample.ID = id
	s.Samples = append(s.Samples, sample)
	sm.next = st.Now + s.Interval
	if len(s.Samples) >= maxSamples {
		kept := s.Samples[:0]
		for i := 0; i < len(s.Samples); i += 2 {
			kept = append(kept, s.Samples[i])
		}
		s.Samples = kept
		s.Interval *= 2
	}
}

// sampleOf summarises st. Every figure is a sum or a maximum, so the
// order in which the peer map is walked does not matter.
func sampleOf(st *state.State) Sample {
	sm := Sample{T: st.Now, Bans: len(st.Bans),
		Disconnects: map[string]uint64{}, RemoteDisconnects: map[string]uint64{}, Offences: map[string]uint64{}}
	var rttSum, rttN int64
	for _, p := range st.Peers {
		switch p.Status {
		case state.StatusConnecting:
			sm.Connecting++
		case state.StatusHandshaking:
			sm.Handshaking++
		case state.StatusReady:
			if p.Dir == state.Inbound {
				sm.ReadyIn++
			} else {
				sm.ReadyOut++
			}
			if p.Ping.RTT > 0 {
				rttSum += p.Ping.RTT
				rttN++
				sm.RTTMax = max(sm.RTTMax, p.Ping.RTT)
			}
		}
	}
	if rttN > 0 {
		sm.RTTMean = rttSum / rttN
	}
	for i := range st.Channels {
		c := &st.Channels[i]
		sm.Received = append(sm.Received, c.Received)
		sm.Sent = append(sm.Sent, c.Sent)
		sm.Published = append(sm.Published, c.Published)
	}
	for r, n := range st.Counters.Disconnects {
		sm.Disconnects[r.String()] += n
	}
	for r, n := range st.Counters.RemoteDisconnects {
		sm.RemoteDisconnects[r.String()] += n
	}
	for o, n := range st.Counters.Offences {
		sm.Offences[o.String()] += n
	}
	return sm
}

// Series returns the log's charts.
func (l *Log) Series() *Series { return &l.series }
