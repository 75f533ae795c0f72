// Command gen writes the generated documents; run from internal/docs by go generate.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/tandem-oss/tandem/internal/docs"
)

func main() {
	root := "../.."
	for name, content := range docs.Files() {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
