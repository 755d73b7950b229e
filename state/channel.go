package state

// ChannelState is the flow state of one channel on this node.
type ChannelState struct {
	// InFlight counts broadcasts handed to the service and not yet
	// reported published; it is bounded by the channel's QueueLimit.
	InFlight int
	// Published, Sent and Received count broadcasts, direct messages
	// sent, and messages received. Messages the API could not queue are
	// counted with the dropped actions.
	Published uint64
	Sent      uint64
	Received  uint64
	// Refused counts messages refused from peers: over budget, throttled,
	// or (broadcasts) not admitted.
	Refused uint64
	// Total is the channel's use of its Total budget: the broadcasts
	// accepted from all peers together.
	Total Bucket
}
