// Package strictmain is the TestMain of the test packages that use both a database and the
// tallies' stores.
package strictmain

import (
	"testing"

	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/tally"
)

// Main runs the package's tests under tally.StrictFree (a record used after its store let its
// block go faults in the test that does it), as testdb.Main runs them.
func Main(m *testing.M) {
	tally.StrictFree()
	testdb.Main(m)
}
