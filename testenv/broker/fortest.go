package broker

import "testing"

// ForTest starts an in-memory broker on a random loopback port for one test
// and closes it when the test ends.
func ForTest(tb testing.TB, cfg ...Config) *Broker {
	tb.Helper()
	var c Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	b, err := Start(c)
	if err != nil {
		tb.Fatalf("start embedded broker: %v", err)
	}
	tb.Cleanup(b.Close)
	return b
}
