package libp2p

import (
	"fmt"
	"net"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// listenError turns go-libp2p's nested listen failure into one line that
// says which address and why.
func listenError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "address already in use") {
		// go-libp2p wraps the socket error as "failed to listen on any
		// addresses: [listen tcp4 127.0.0.1:4001: bind: address already
		// in use]"; the bracketed part says which address.
		if i := strings.Index(msg, "[listen "); i >= 0 {
			inner := strings.TrimSuffix(firstLine(msg[i+1:]), "]")
			inner = strings.ReplaceAll(inner, " listen ", "; listen ")
			return fmt.Errorf("cannot listen, port already in use: %s", inner)
		}
		return fmt.Errorf("cannot listen, port already in use: %s", firstLine(msg))
	}
	return fmt.Errorf("cannot start the libp2p host: %s", firstLine(msg))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// checkListening makes sure every requested address got a listener.
// go-libp2p starts as long as one address works and drops the others
// silently; an operator who asked for a port must hear that it is taken.
func checkListening(requested, got []ma.Multiaddr) error {
	for _, want := range requested {
		found := false
		for _, have := range got {
			if covers(want, have) {
				found = true
				break
			}
		}
		if !found {
			return listenFailure(want)
		}
	}
	return nil
}

// covers reports whether listener have serves the requested address want:
// the same protocols and values, a requested port 0 matching any port.
func covers(want, have ma.Multiaddr) bool {
	if len(want) != len(have) {
		return false
	}
	for i := range want {
		w, h := want[i], have[i]
		if w.Code() != h.Code() {
			return false
		}
		if w.Value() == h.Value() {
			continue
		}
		if (w.Code() == ma.P_TCP || w.Code() == ma.P_UDP) && w.Value() == "0" {
			continue
		}
		return false
	}
	return true
}

// listenFailure says why an address could not be listened on, asking the
// operating system the same question go-libp2p did.
func listenFailure(addr ma.Multiaddr) error {
	na, err := manet.ToNetAddr(addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s", addr)
	}
	var probe error
	switch na := na.(type) {
	case *net.TCPAddr:
		var l net.Listener
		if l, probe = net.Listen("tcp", na.String()); probe == nil {
			l.Close()
		}
	case *net.UDPAddr:
		var c net.PacketConn
		if c, probe = net.ListenPacket("udp", na.String()); probe == nil {
			c.Close()
		}
	}
	if probe != nil && strings.Contains(probe.Error(), "address already in use") {
		return fmt.Errorf("cannot listen on %s, port already in use: %v", addr, probe)
	}
	if probe != nil {
		return fmt.Errorf("cannot listen on %s: %v", addr, probe)
	}
	return fmt.Errorf("cannot listen on %s: go-libp2p did not start a listener for it", addr)
}
