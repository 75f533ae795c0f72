package exporter

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

// TestGzippedReusesItsWriter: one writer compresses one member after another (as at every poll),
// each member decodes to its own text, and a member made later does not overwrite one made
// before (a scrape may still be sending it).
func TestGzippedReusesItsWriter(t *testing.T) {
	zw := newGzipWriter()
	texts := []string{strings.Repeat("tandem_leads_created{period=\"today\"} 12\n", 2000), "tandem_up{database=\"crm\"} 1\n", ""}
	var members [][]byte
	for i, text := range texts {
		members = append(members, gzipped(zw, []byte(text), len(text)/10*i))
	}
	for i, m := range members {
		zr, err := gzip.NewReader(bytes.NewReader(m))
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || string(got) != texts[i] {
			t.Errorf("member %d decodes to %d bytes (%v), want the %d of its text", i, len(got), err, len(texts[i]))
		}
	}
}
