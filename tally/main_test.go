package tally

import (
	"os"
	"testing"
)

// TestMain runs the package's tests under StrictFree: a record used after its store let its
// block go faults in the test that does it.
func TestMain(m *testing.M) {
	StrictFree()
	os.Exit(m.Run())
}
