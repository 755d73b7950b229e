package state

// Ban keeps a peer ID or an IP address away until a time. A ban is manual
// (through the API) or a discouragement earned by misbehaviour.
type Ban struct {
	Until  int64
	Manual bool
	Reason string
}

// BanEntry is a ban with its target, for persistence.
type BanEntry struct {
	Target string
	Ban    Ban
}

// Offence is a kind of misbehaviour; each has a score in Config.
type Offence uint8

// Offences.
const (
	OffenceNone Offence = iota
	// OffenceMalformed is a message that does not decode.
	OffenceMalformed
	// OffenceOversized is a frame above its channel's limit.
	OffenceOversized
	// OffenceViolation is a well-formed message that breaks the protocol
	// (a second Hello, a control message before the handshake, …).
	OffenceViolation
	// OffenceUnsolicited is a response nobody asked for.
	OffenceUnsolicited
	// OffenceFlood is sending past a channel's budget again and again.
	OffenceFlood
	// OffenceRejected is a broadcast the application's validator rejected.
	OffenceRejected
	NumOffences
)

var offenceNames = []string{"none", "malformed", "oversized", "protocol violation", "unsolicited response", "flood", "rejected broadcast"}

// String names the value for logs and traces.
func (o Offence) String() string { return enumText(offenceNames, int(o), "offence") }

// MarshalText names the offence.
func (o Offence) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses an offence name.
func (o *Offence) UnmarshalText(b []byte) error {
	v, err := enumParse(offenceNames, b, "offence")
	*o = Offence(v)
	return err
}

// Score is the configured score of an offence.
func (c *Config) Score(o Offence) int {
	switch o {
	case OffenceMalformed:
		return c.ScoreMalformed
	case OffenceOversized:
		return c.ScoreOversized
	case OffenceViolation:
		return c.ScoreViolation
	case OffenceUnsolicited:
		return c.ScoreUnsolicited
	case OffenceFlood:
		return c.ScoreFlood
	case OffenceRejected:
		return c.ScoreRejected
	}
	return 0
}

// Banned reports whether a peer ID or any of the IPs of addrs is banned at
// time now.
func (s *State) Banned(id PeerID, addrs ...Addr) bool {
	if len(s.Bans) == 0 {
		return false // every broadcast asks; most nodes ban no one
	}
	if b, ok := s.Bans[string(id)]; ok && b.Until > s.Now {
		return true
	}
	for _, a := range addrs {
		if host := AddrHost(a); host != "" {
			if b, ok := s.Bans[host]; ok && b.Until > s.Now {
				return true
			}
		}
	}
	return false
}
