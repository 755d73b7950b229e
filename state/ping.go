package state

// Ping is the liveness check of one ready peer.
type Ping struct {
	// Outstanding is set while a PingRequest waits for its answer; Nonce
	// and SentAt describe it.
	Outstanding bool
	Nonce       uint64
	SentAt      int64
	// RTT is the round-trip time of the last answered ping, in ns.
	RTT int64
	// Answered counts pings the peer answered correctly.
	Answered uint64
}
