package main_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/internal/testdb"
)

// An unparseable DSN is a configuration error that names the field and never the value: not in
// --config.check, not at start-up. Each form here once printed the whole DSN, password included.
func TestMalformedDSNNeverPrinted(t *testing.T) {
	bin := build(t)
	const password = "S3cretPw"
	dsns := map[string]string{
		"bad port":          "postgres://u:" + password + "@127.0.0.1:5432x/crm",
		"unescaped percent": "postgres://u:" + password + "%zz@127.0.0.1:5432/crm",
		"broken IPv6 host":  "postgres://u:" + password + "@[::1:5432/crm",
		"single slash":      "postgres:/u:" + password + "@127.0.0.1:5432/crm",
		"key=value":         "host=127.0.0.1 password=" + password + " port=5432x",
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			secretFile := filepath.Join(t.TempDir(), "dsn")
			if err := os.WriteFile(secretFile, []byte(dsn+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ yml, field string }{
				{"databases:\n  crm: {dsn_env: T_BAD_DSN}\n", "databases.crm.dsn_env"},
				{"databases:\n  crm: {dsn_file: " + secretFile + "}\n", "databases.crm.dsn_file"},
			} {
				cfg := writeConfig(t, c.yml)
				for _, args := range [][]string{{"--config.check"}, {"--web.listen-address", "127.0.0.1:0"}} {
					cmd := exec.Command(bin, append([]string{"--config.file", cfg}, args...)...)
					cmd.Env = append(os.Environ(), "T_BAD_DSN="+dsn)
					out, err := runFor(t, cmd, 20*time.Second)
					if err == nil {
						t.Errorf("%v with a malformed DSN exited 0:\n%s", args, out)
					}
					if strings.Contains(out, password) || strings.Contains(out, "127.0.0.1:5432x") {
						t.Errorf("%v prints the DSN:\n%s", args, out)
					}
					if !strings.Contains(out, c.field) || !strings.Contains(out, "not a valid PostgreSQL DSN") && !strings.Contains(out, "does not hold a valid PostgreSQL DSN") {
						t.Errorf("%v does not name %s as an invalid DSN:\n%s", args, c.field, out)
					}
				}
			}
		})
	}
}

// runFor runs a command to its end, killing it after d; its combined output.
func runFor(t *testing.T, cmd *exec.Cmd, d time.Duration) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(d):
		cmd.Process.Kill() //nolint:errcheck
		<-done
		t.Fatalf("%v still running after %s:\n%s", cmd.Args, d, out.String())
		return "", nil
	}
}

// freezer is a TCP proxy to a real server that can freeze: connections stay open and accepted,
// nothing is forwarded either way, as with a SIGSTOPped PostgreSQL or a proxy whose upstream died.
// With no upstream it accepts connections and never answers at all.
type freezer struct {
	l        net.Listener
	upstream string
	mu       sync.Mutex
	frozen   bool
	conns    []net.Conn
}

func newFreezer(t *testing.T, upstream string) *freezer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l, upstream: upstream, frozen: upstream == ""}
	t.Cleanup(func() {
		l.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	go f.serve()
	return f
}

func (f *freezer) addr() string { return f.l.Addr().String() }

func (f *freezer) freeze() {
	f.mu.Lock()
	f.frozen = true
	f.mu.Unlock()
}

func (f *freezer) isFrozen() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frozen
}

func (f *freezer) serve() {
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		if f.upstream == "" {
			continue // accepted, never answered
		}
		up, err := net.Dial("tcp", f.upstream)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, up)
		f.mu.Unlock()
		go f.pipe(up, c)
		go f.pipe(c, up)
	}
}

// pipe copies until the freeze, then holds whatever it read: the peer sees a silent connection.
func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 && f.isFrozen() {
			time.Sleep(50 * time.Millisecond)
			if _, werr := dst.Write(nil); werr != nil {
				return
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A database that accepts connections and never answers must not freeze the exporter: HTTP
// serves at once, the healthy database is published, the hung one reads tandem_up 0, a poll that
// hangs mid-run fails within query_timeout plus a grace, and SIGTERM ends the process within
// seconds whatever the database does.
func TestHungDatabase(t *testing.T) {
	bin := build(t)
	url := testdb.New(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := demo.Load(context.Background(), db, db, demo.Options{Seed: 6, Leads: 300, Now: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `databases:
  crm: {dsn_env: T_CRM, poll_interval: 2s, query_timeout: 2s}
  campaigns: {dsn_env: T_CAMP, poll_interval: 2s, query_timeout: 2s}
`)
	via := func(addr string) string { // the test database's URL through another host:port
		return strings.Replace(url, "127.0.0.1:5432", addr, 1)
	}
	if !strings.Contains(url, "127.0.0.1:5432") {
		t.Skipf("the test database is not on 127.0.0.1:5432: %s", url)
	}

	start := func(crm, camp string) (*exec.Cmd, string, *logBuffer, chan error) {
		cmd := exec.Command(bin, "--config.file", cfg)
		cmd.Env = append(os.Environ(), "T_CRM="+crm, "T_CAMP="+camp)
		addr, logs := startListening(t, cmd)
		t.Cleanup(func() { cmd.Process.Kill() }) //nolint:errcheck
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, "http://" + addr, logs, done
	}
	stopWithin := func(cmd *exec.Cmd, done chan error, logs *logBuffer, d time.Duration) {
		t.Helper()
		began := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
			t.Logf("exited %s after SIGTERM", time.Since(began).Round(time.Millisecond))
		case <-time.After(d):
			t.Fatalf("still running %s after SIGTERM, with a hung database:\n%s", d, logs.String())
		}
	}

	// Hung at start-up: the CRM's server never answers; the campaign database is healthy.
	hung := newFreezer(t, "")
	cmd, base, logs, done := start(via(hung.addr()), url)
	began := time.Now()
	scrapeUntil(t, base+"/-/healthy", "Healthy")
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("/-/healthy answered only after %s", d)
	}
	body := scrapeUntil(t, base+"/metrics", `tandem_up{database="campaigns"} 1`, `tandem_up{database="crm"} 0`, "tandem_campaign_spend{")
	if strings.Contains(body, `tandem_up{database="crm"} 1`) {
		t.Error("the hung CRM reads up")
	}
	// The start-up check gives up on the silent CRM within its query_timeout and says so.
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(logs.String(), "not reachable at start-up"); {
		if time.Now().After(deadline) {
			t.Fatalf("no log line says the CRM did not answer:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopWithin(cmd, done, logs, 5*time.Second)

	// Hung mid-run: both healthy, then the CRM's connection freezes during the polls.
	proxy := newFreezer(t, "127.0.0.1:5432")
	cmd, base, logs, done = start(via(proxy.addr()), url)
	scrapeUntil(t, base+"/metrics", `tandem_up{database="crm"} 1`, `tandem_up{database="campaigns"} 1`)
	proxy.freeze()
	frozenAt := time.Now()
	scrapeUntil(t, base+"/metrics", `tandem_up{database="crm"} 0`, `tandem_up{database="campaigns"} 1`)
	// One poll in flight when frozen may take query_timeout (2s) plus the 5s grace; the next
	// fails within its connect or read deadline.
	if d := time.Since(frozenAt); d > 20*time.Second {
		t.Errorf("the frozen CRM read up for %s", d)
	}
	resp, err := http.Get(base + "/-/healthy")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	stopWithin(cmd, done, logs, 5*time.Second)
}

// --config.check against databases that are down names each database as not answering (not as
// its first query failing), and a multi-line error is logged line by line, without a literal \n.
func TestCheckNamesEachDatabaseDown(t *testing.T) {
	bin := build(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close() // nothing listens there any more
	cfg := writeConfig(t, "databases:\n  crm: {dsn_env: T_CRM, query_timeout: 2s}\n  campaigns: {dsn_env: T_CAMP, query_timeout: 2s}\n")
	cmd := exec.Command(bin, "--config.file", cfg, "--config.check")
	dsn := "postgres://u:pw@" + closed + "/x?sslmode=disable"
	cmd.Env = append(os.Environ(), "T_CRM="+dsn, "T_CAMP="+dsn)
	out, err := runFor(t, cmd, 30*time.Second)
	if err == nil {
		t.Fatalf("--config.check passed with both databases down:\n%s", out)
	}
	for _, want := range []string{"databases.crm: the database does not answer", "databases.campaigns: the database does not answer"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `\n`) {
		t.Errorf("a literal \\n in the log:\n%s", out)
	}
}
