//go:build !linux || !(amd64 || arm64)

package chdb

// signalSnapshot is empty where the engine does not run.
type signalSnapshot struct{}

func saveSignals() *signalSnapshot         { return &signalSnapshot{} }
func (s *signalSnapshot) restoreReplaced() {}
