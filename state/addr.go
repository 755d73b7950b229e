package state

import (
	"net/netip"
	"strings"
)

// AddrIP returns the IP address of a multiaddr that starts with /ip4 or
// /ip6.
func AddrIP(a Addr) (netip.Addr, bool) {
	proto, value, ok := firstComponent(a)
	if !ok || (proto != "ip4" && proto != "ip6") {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(value)
	if err != nil {
		return netip.Addr{}, false
	}
	if proto == "ip4" && !ip.Is4() {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// AddrHost is the host part of an address (the IP text, or the DNS name),
// the key under which an address is banned or discouraged.
func AddrHost(a Addr) string {
	if ip, ok := AddrIP(a); ok {
		return ip.String()
	}
	proto, value, ok := firstComponent(a)
	if ok && strings.HasPrefix(proto, "dns") {
		return strings.ToLower(value) // DNS names ignore case
	}
	return ""
}

// AddrGroup is the network group an address belongs to for outbound
// diversity: the /16 of an IPv4 address or the /32 of an IPv6 address, as in
// Bitcoin Core and Mintlayer. Loopback addresses are exempt — every local
// endpoint (host and port) is its own group — so nodes on one machine can
// still peer with each other. DNS names group by name.
func AddrGroup(a Addr) string {
	if ip, ok := AddrIP(a); ok {
		if ip.IsLoopback() {
			return "local:" + string(a)
		}
		if ip.Is4() {
			p, _ := ip.Prefix(16)
			return "ip4:" + p.String()
		}
		p, _ := ip.Prefix(32)
		return "ip6:" + p.String()
	}
	proto, value, ok := firstComponent(a)
	if ok && strings.HasPrefix(proto, "dns") {
		return "dns:" + value
	}
	return "other:" + string(a)
}

// firstComponent splits "/ip4/1.2.3.4/tcp/1" into "ip4" and "1.2.3.4".
func firstComponent(a Addr) (proto, value string, ok bool) {
	s, found := strings.CutPrefix(string(a), "/")
	if !found {
		return "", "", false
	}
	proto, rest, found := strings.Cut(s, "/")
	value, _, _ = strings.Cut(rest, "/")
	if !found || proto == "" || value == "" {
		return "", "", false
	}
	return proto, value, true
}
