package action

// The stable kind numbers. Inputs take 1–31 and then 64–95, derived
// actions 32–63 and then 96 and up. Sessions (session.go) take inputs
// 70–79 and derived actions 100–109.
// Connect and Disconnect are inputs when the API asks for them and derived
// when a reducer decides them; either way their kind is the same.
const (
	KindTick               Kind = 1
	KindConnect            Kind = 2
	KindConnected          Kind = 3
	KindConnectionFailed   Kind = 4
	KindIncomingConnection Kind = 5
	KindDisconnect         Kind = 6
	KindDisconnected       Kind = 7
	KindMessageReceived    Kind = 8
	KindBroadcastMessage   Kind = 9
	KindSendMessage        Kind = 10
	KindSent               Kind = 11
	KindPublished          Kind = 12
	KindFrameRejected      Kind = 13
	KindBan                Kind = 14
	KindUnban              Kind = 15
	KindPeersDiscovered    Kind = 16
	KindPeerStoreLoaded    Kind = 17
	KindShutdown           Kind = 18
	KindSendFailed         Kind = 19
	KindPublishFailed      Kind = 20
	KindWriteStalled       Kind = 21
	KindStreamOpened       Kind = 22
	KindStreamClosed       Kind = 23
	KindGossipReceived     Kind = 24
	KindGossipValidated    Kind = 25
	KindGossipStats        Kind = 26
	KindReadStalled        Kind = 27
	KindGossipOffered      Kind = 28
	KindSendRequest        Kind = 29
	KindRequestReceived    Kind = 30
	KindResponseReceived   Kind = 31
	KindSendResponse       Kind = 64
	KindRequestFailed      Kind = 65
	KindExpired            Kind = 66

	KindHelloReceived            Kind = 32
	KindHelloAckReceived         Kind = 33
	KindDisconnectReceived       Kind = 34
	KindPeerReady                Kind = 35
	KindPingSend                 Kind = 36
	KindPingRequestReceived      Kind = 37
	KindPingResponseReceived     Kind = 38
	KindAddrListRequestReceived  Kind = 39
	KindAddrListResponseReceived Kind = 40
	KindAddrAnnounceReceived     Kind = 41
	KindAddrListSend             Kind = 42
	KindAddrAnnounceSend         Kind = 43
	KindMisbehaved               Kind = 44
	KindSavePeerStore            Kind = 45
	KindCloseTimedOut            Kind = 46
	KindThrottle                 Kind = 47
	KindUnthrottle               Kind = 48
	KindRequestDone              Kind = 49
	KindRequestRefused           Kind = 50
	KindServeRequest             Kind = 51
	KindAddrListAsk              Kind = 52

	// DHT and HTTP over libp2p (action/dht.go, action/http.go): inputs
	// 80–89, derived 110–119.
	KindAdvertised     Kind = 80
	KindProvidersFound Kind = 81
	KindFindPeers      Kind = 82
	KindHTTPAsk        Kind = 83
	KindHTTPCancel     Kind = 84
	KindHTTPExchanged  Kind = 85
	KindAdvertise      Kind = 110
	KindFindProviders  Kind = 111
	KindLookupDone     Kind = 112
	KindHTTPGrant      Kind = 113
)
