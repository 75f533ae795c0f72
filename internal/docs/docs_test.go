package docs

import (
	"os"
	"path/filepath"
	"testing"
)

// The committed documents match the code; run `go generate ./internal/docs` after a change.
func TestGeneratedDocsAreCurrent(t *testing.T) {
	for name, want := range Files() {
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatalf("%s: %v (run go generate ./internal/docs)", name, err)
		}
		if string(got) != want {
			t.Errorf("%s is out of date: run go generate ./internal/docs", name)
		}
	}
}
