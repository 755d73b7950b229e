package state

// ChannelState is the flow state of one channel on this node.
type ChannelState struct {
	// InFlight counts broadcasts handed to the service and not yet
	// reported published; it is bounded by the channel's QueueLimit.
	InFlight int
	// Published and Received count broadcast and direct messages; Refused
	// counts messages the API could not queue (full or oversized).
	Published uint64
	Sent      uint64
	Received  uint64
	Refused   uint64
}
