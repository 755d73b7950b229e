package message

import (
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

// The fast path for plain IPv4 addresses agrees with go-multiaddr's
// canonical form on everything it accepts, and accepts the usual forms.
func TestPlainIP4AgreesWithMultiaddr(t *testing.T) {
	slow := func(s string) bool {
		m, err := ma.NewMultiaddr(s)
		return err == nil && m.String() == s
	}
	cases := []string{
		"/ip4/10.0.0.1/tcp/4001", "/ip4/0.0.0.0/tcp/0", "/ip4/255.255.255.255/tcp/65535",
		"/ip4/127.0.0.1/udp/4001/quic-v1", "/ip4/1.2.3.4/udp/9/quic-v1",
		"/ip4/01.2.3.4/tcp/1", "/ip4/1.2.3.4/tcp/01", "/ip4/256.1.1.1/tcp/1", "/ip4/1.2.3/tcp/1",
		"/ip4/1.2.3.4/tcp/65536", "/ip4/1.2.3.4/tcp/", "/ip4/1.2.3.4/tcp/1/", "/ip4/1.2.3.4/udp/1",
		"/ip4/1.2.3.4/udp/1/quic", "/ip4/1.2.3.4./tcp/1", "/ip4/1.2.3.4/tcp/1/p2p/x", "/ip4//tcp/1",
		"/ip4/1.2.3.4/tcp/99999999999", "/ip4/1.2.3.4/tcp/-1", "/ip4/1.2.3.4/tcp/+1", "/ip4/1.2.3.4/TCP/1",
	}
	for a := 0; a < 300; a += 7 {
		for p := 0; p < 70000; p += 9973 {
			cases = append(cases, "/ip4/10."+itoa(a)+".0.1/tcp/"+itoa(p), "/ip4/"+itoa(a)+".0.0."+itoa(a)+"/udp/"+itoa(p)+"/quic-v1")
		}
	}
	accepted := 0
	for _, s := range cases {
		if plainIP4(s) {
			accepted++
			if !slow(s) {
				t.Errorf("%q: fast path accepts, go-multiaddr does not", s)
			}
		}
		if ValidAddr(s) != slow(s) {
			t.Errorf("%q: ValidAddr %v, go-multiaddr %v", s, ValidAddr(s), slow(s))
		}
	}
	if accepted < 100 {
		t.Errorf("the fast path took only %d addresses", accepted)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
