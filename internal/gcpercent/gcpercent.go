// Package gcpercent sets the exporter's garbage collection percentage (GOGC): the heap growth
// the Go runtime allows between two collections, relative to the heap the last one found live.
//
// The exporter keeps what it holds between polls outside the Go heap (the live tallies' stores,
// in mapped blocks), so its heap is mostly a poll's working memory, small, and the collector
// marks little: collecting it more often than at the runtime's default (100, the heap let grow
// to twice what is live) costs little CPU and brings the peak of a cold start or a
// reconciliation down to near what is live. At a million leads (BenchmarkPollVsGenericSQL,
// README "Performance"), in three 1-poll pairs, 35 held the cold start's peak RSS at
// 141.5-142.4 MiB against 147.7-148.9 MiB at 50, for 0.7-1.5 s more of the exporter's CPU in
// a cold start of 9.8-12.5 s of it: 50 left the 150 MiB target no margin (one run peaked at
// 150.4 MiB). A later release halved what a cold start allocates (487 MB to 234 MB), which
// halved the collections 35 costs; its peak RSS stayed at 139-144 MiB.
package gcpercent

import (
	"os"
	"runtime/debug"
)

// Default is the exporter's GOGC when neither --runtime.gogc nor the GOGC environment variable
// sets one.
const Default = 35

// Set sets the garbage collection percentage to percent, unless the GOGC environment variable
// is set, which wins (as GOMEMLIMIT's does over --auto-gomemlimit). It returns the percentage in
// effect and whether the environment set it.
func Set(percent int) (effective int, fromEnv bool) {
	if os.Getenv("GOGC") != "" {
		p := debug.SetGCPercent(-1) // read it back: the runtime parsed the environment's
		debug.SetGCPercent(p)
		return p, true
	}
	debug.SetGCPercent(percent)
	return percent, false
}
