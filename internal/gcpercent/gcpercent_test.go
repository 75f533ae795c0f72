package gcpercent

import (
	"runtime/debug"
	"testing"
)

func TestSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		env     string
		percent int
		want    int
		fromEnv bool
	}{
		{"", 50, 50, false},
		{"", 80, 80, false},
		{"120", 50, 120, true}, // the environment wins
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv("GOGC", tc.env)
			if tc.env != "" {
				debug.SetGCPercent(120) // what the runtime read from GOGC at start-up
			}
			got, fromEnv := Set(tc.percent)
			if got != tc.want || fromEnv != tc.fromEnv {
				t.Fatalf("Set(%d) with GOGC=%q = %d, %v; want %d, %v", tc.percent, tc.env, got, fromEnv, tc.want, tc.fromEnv)
			}
			if now := debug.SetGCPercent(got); now != tc.want {
				t.Fatalf("the runtime's percentage is %d, want %d", now, tc.want)
			}
		})
	}
}
