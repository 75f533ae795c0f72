package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// --demo.dir names a directory to keep the demo's database in: one that does not exist yet is
// made (and kept), one that cannot be is refused by the flag's name, not by SQLite's "unable to
// open database file".
func TestDemoDirIsMade(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "kept", "demo")
	d, err := startDemo(context.Background(), logger, dir, 50, start)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(filepath.Join(dir, "tandem-demo.sqlite")); err != nil {
		t.Errorf("the demo database is not kept in --demo.dir: %v", err)
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := startDemo(context.Background(), logger, filepath.Join(file, "demo"), 50, start); err == nil || !strings.Contains(err.Error(), "--demo.dir") {
		t.Errorf("a --demo.dir that cannot be made: %v, want an error naming the flag", err)
	}
}
