package libp2p

import pubsub "github.com/libp2p/go-libp2p-pubsub"

// DefaultPubSubQueue is Config.PubSubQueue when none is given.
const DefaultPubSubQueue = 4096

// PubSubOptions are the GossipSub options the service runs with, for
// queues of queue RPCs (Config.PubSubQueue) and messages of up to
// maxMessageSize bytes (Rules.MaxMessageSize): everything but the
// service's own instrumentation (the flow-control tracer and the host
// wrapper), which it adds itself. The benchmarks give raw go-libp2p these
// same options, so that a comparison measures the service and not a
// difference in configuration.
func PubSubOptions(queue, maxMessageSize int) []pubsub.Option {
	return []pubsub.Option{
		// The per-peer outbound queue: GossipSub drops what does not fit
		// (32 by default); the publisher waits while it is three-quarters
		// full.
		pubsub.WithPeerOutboundQueueSize(queue),
		pubsub.WithValidateQueueSize(queue),
		// Room for the RPC framing around the largest message.
		pubsub.WithMaxMessageSize(maxMessageSize + 64<<10),
		// GossipSub resets the stream of an RPC with over 512 KiB of
		// non-message content (subscriptions, control) by default, and
		// nobody hears of it. A bound of 4 MiB lets such an RPC reach the
		// inspector, which refuses one with too many subscriptions and has
		// the state machine score its sender (nothing of it is kept).
		pubsub.WithMaxControlMessageSize(4 << 20),
		// Our own publications go to every peer on the topic, not just the
		// mesh, as the GossipSub v1.1 spec recommends: a publication right
		// after peers connect, before the mesh forms, still reaches them.
		pubsub.WithFloodPublish(true),
	}
}

// SubscribeOptions are the options of the service's topic subscriptions:
// a buffer of queue messages (32 by default).
func SubscribeOptions(queue int) []pubsub.SubOpt {
	return []pubsub.SubOpt{pubsub.WithBufferSize(queue)}
}

// ValidatorConcurrency is how many broadcasts of one topic may wait for
// their verdict at once.
const ValidatorConcurrency = 1024

// ValidatorOptions are the options the service registers its topic
// validators with: they run asynchronously, each waiting for the state
// machine's verdict, ValidatorConcurrency at most per topic.
func ValidatorOptions() []pubsub.ValidatorOpt {
	return []pubsub.ValidatorOpt{pubsub.WithValidatorConcurrency(ValidatorConcurrency)}
}
