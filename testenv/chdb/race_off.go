//go:build !race

package chdb

// raceDetector is set in binaries built with -race, whose os.Exit calls C
// exit(3) (see closeAtExit).
const raceDetector = false
