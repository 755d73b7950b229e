package libp2p

import (
	"log/slog"

	"github.com/libp2p/go-libp2p/gologshim"
)

// RouteLogs sends go-libp2p's own logs to h. Without it go-libp2p writes
// them to stderr in its own format, which a CLI's one-line errors drown in
// (a failed listen, for one, is logged three times by go-libp2p's start-up
// before we report it once). It is process-wide and must be called before
// the first host starts; a nil h discards them.
func RouteLogs(h slog.Handler) {
	if h == nil {
		h = slog.DiscardHandler
	}
	gologshim.SetDefaultHandler(h)
}
