//go:build race

package gateway_test

// raceDetector is whether the tests run under the race detector, which
// makes a rule's memory growth many times slower.
const raceDetector = true
