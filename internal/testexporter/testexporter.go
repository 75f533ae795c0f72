// Package testexporter starts an exporter for end-to-end tests: configuration text in, running
// pollers and (optionally) /metrics over HTTP out, everything stopped when the test ends.
package testexporter

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/exporter"
)

// Start parses yml (its dsn_env variables resolved from env), starts the exporter's pollers on
// the clock now and returns it; its logs go to logs (discarded if nil).
func Start(t testing.TB, yml string, env map[string]string, logs io.Writer, now func() time.Time) *exporter.Exporter {
	t.Helper()
	cfg, err := config.Parse([]byte(yml), "test.yml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if logs == nil {
		logs = io.Discard
	}
	e, err := exporter.New(cfg, slog.New(slog.NewTextHandler(logs, nil)), now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.Start(ctx)
	t.Cleanup(func() {
		cancel()
		e.Wait()
		e.Close()
	})
	return e
}

// Serve is Start plus /metrics over HTTP; it returns the exporter and its host:port.
func Serve(t testing.TB, yml string, env map[string]string, now func() time.Time) (*exporter.Exporter, string) {
	t.Helper()
	e := Start(t, yml, env, nil, now)
	srv := httptest.NewServer(e.Handler(10))
	t.Cleanup(srv.Close)
	return e, strings.TrimPrefix(srv.URL, "http://")
}
