//go:build linux && (amd64 || arm64)

package chdb

import (
	"syscall"
	"unsafe"
)

// kernelSigaction is struct sigaction as the rt_sigaction system call takes it
// on linux/amd64 and linux/arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const (
	maxSignal = 64
	sigDFL    = 0
	sigIGN    = 1
)

// signalSnapshot is every signal's disposition at one moment; index = signal.
type signalSnapshot [maxSignal + 1]kernelSigaction

func sigaction(sig int, act, old *kernelSigaction) syscall.Errno {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	return errno
}

// saveSignals records every signal's current disposition.
func saveSignals() *signalSnapshot {
	var s signalSnapshot
	for sig := 1; sig <= maxSignal; sig++ {
		_ = sigaction(sig, nil, &s[sig]) // EINVAL for SIGKILL/SIGSTOP-like gaps leaves zero
	}
	return &s
}

// restoreReplaced puts back each handler the process had in s that something
// has since replaced, and SIGTSTP whatever it was: the Go runtime's handlers
// must stay Go's. Signals that had no handler in s keep their new one.
func (s *signalSnapshot) restoreReplaced() {
	for sig := 1; sig <= maxSignal; sig++ {
		var cur kernelSigaction
		if sigaction(sig, nil, &cur) != 0 || cur == s[sig] {
			continue
		}
		had := s[sig].handler != sigDFL && s[sig].handler != sigIGN
		if had || sig == int(syscall.SIGTSTP) {
			_ = sigaction(sig, &s[sig], nil)
		}
	}
}
