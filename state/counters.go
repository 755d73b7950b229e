package state

// Counters are the node's metrics. They live in the state, so they are
// replayed and hashed like everything else, and a log shows how each one
// moved.
type Counters struct {
	// Actions counts every dispatched action, enabled or not.
	Actions uint64
	// Dropped counts actions whose enabling condition was false, by kind.
	Dropped map[string]uint64
	// Disconnects counts the reasons we closed or refused connections;
	// RemoteDisconnects the reasons peers gave us.
	Disconnects       map[Reason]uint64
	RemoteDisconnects map[Reason]uint64
	// Offences counts misbehaviour by kind.
	Offences map[Offence]uint64
	// Handshakes counts completed handshakes; DialFailures failed dials.
	Handshakes   uint64
	DialFailures uint64
	// PingsSent counts PingRequests we sent.
	PingsSent uint64
	// SendFailures and PublishFailures count messages the service could
	// not write or publish, by channel.
	SendFailures    []uint64
	PublishFailures []uint64
	// StreamsRefused counts inbound streams reset for the per-peer cap or
	// because their peer was not connected; Stalls counts peers dropped
	// because writing to them made no progress.
	StreamsRefused uint64
	// RequestsAnswered and RequestsFailed count our requests by outcome
	// (an answer; a refusal, timeout or lost peer); RequestsRefused the
	// peers' requests refused as busy, RequestsUnanswered those the
	// application did not answer in time.
	RequestsAnswered   uint64
	RequestsFailed     uint64
	RequestsRefused    uint64
	RequestsUnanswered uint64
	Stalls             uint64
	// CloseTimeouts counts peers forgotten because the service never
	// confirmed their close.
	CloseTimeouts uint64
	// Throttles counts peers throttled for going over a budget;
	// AuthorThrottles authors of relayed broadcasts that went over theirs.
	Throttles       uint64
	AuthorThrottles uint64
	// Gossip counts what GossipSub refused before asking (GossipStats).
	GossipInvalid    uint64
	GossipDuplicates uint64
	GossipDropped    uint64
	GossipDroppedB   uint64
}
