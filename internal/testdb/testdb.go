// Package testdb gives every test its own fresh PostgreSQL database, dropped when the test ends.
//
// Where the server comes from, in order: TANDEM_TEST_DATABASE_URL if set; else the server on
// 127.0.0.1:5432 (user postgres, trust auth) if one answers; else a throwaway cluster started
// from the local PostgreSQL binaries (initdb, pg_ctl) in a temporary directory, as the postgres
// user when running as root, stopped when the test binary exits.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver
)

var (
	once    sync.Once
	baseURL string
	initErr error
	cluster *throwaway
	counter atomic.Int64
)

// Server returns the admin URL of the server the tests use, starting a throwaway one if needed.
func Server(t testing.TB) string {
	t.Helper()
	once.Do(func() { baseURL, initErr = find() })
	if initErr != nil {
		t.Fatalf("no PostgreSQL for tests: %v", initErr)
	}
	return baseURL
}

// Main runs a package's tests, then runs cleanup (what the package's TestMain set up for all its
// tests, such as a built binary) and stops the throwaway cluster, if one was started: the
// TestMain of every package whose tests use a database.
func Main(m *testing.M, cleanup ...func()) {
	code := m.Run()
	for _, c := range cleanup {
		c()
	}
	Stop()
	os.Exit(code)
}

// Stop stops a throwaway cluster, if one was started; call it from TestMain after m.Run.
func Stop() {
	if cluster != nil {
		cluster.stop()
	}
}

// New creates a fresh database and returns its URL; the database is dropped at cleanup.
func New(t testing.TB) string {
	t.Helper()
	admin := Server(t)
	name := fmt.Sprintf("tandem_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, counter.Add(1))
	db, err := sql.Open("postgres", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", admin)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// Create makes a fresh database that outlives any one test (benchmarks share one across runs);
// drop removes it.
func Create() (url string, drop func(), err error) {
	once.Do(func() { baseURL, initErr = find() })
	if initErr != nil {
		return "", nil, initErr
	}
	name := fmt.Sprintf("tandem_bench_%d_%d", os.Getpid(), counter.Add(1))
	db, err := sql.Open("postgres", baseURL)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return "", nil, err
	}
	return withDatabase(baseURL, name), func() {
		if db, err := sql.Open("postgres", baseURL); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") //nolint:errcheck
			db.Close()
		}
	}, nil
}

// Open creates a fresh database and connects to it.
func Open(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	u := New(t)
	db, err := sqlx.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, u
}

func withDatabase(admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + name
	return u.String()
}

func find() (string, error) {
	if u := os.Getenv("TANDEM_TEST_DATABASE_URL"); u != "" {
		return u, ping(u)
	}
	local := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if ping(local) == nil {
		return local, nil
	}
	c, err := startThrowaway()
	if err != nil {
		return "", fmt.Errorf("no server on 127.0.0.1:5432 and no throwaway cluster: %w", err)
	}
	cluster = c
	return c.url, nil
}

func ping(u string) error {
	db, err := sql.Open("postgres", u)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

type throwaway struct {
	dir, pgctl, url string
	port            int
	cred            *syscall.Credential
}

// binary finds a PostgreSQL program on PATH or in Debian's versioned directories.
func binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) > 0 {
		return matches[len(matches)-1], nil
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/lib/postgresql/*/bin", name)
}

func startThrowaway() (*throwaway, error) {
	initdb, err := binary("initdb")
	if err != nil {
		return nil, err
	}
	pgctl, err := binary("pg_ctl")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tandem-pg-")
	if err != nil {
		return nil, err
	}
	c := &throwaway{dir: dir, pgctl: pgctl}
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			u, err = user.Lookup("nobody")
		}
		if err != nil {
			return nil, fmt.Errorf("running as root and no unprivileged user to run PostgreSQL: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c.port = port
	data := filepath.Join(dir, "data")
	if out, err := c.run(initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, ping(c.url)
}

func (c *throwaway) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", c.port, c.dir)
	if out, err := c.run(c.pgctl, "-D", filepath.Join(c.dir, "data"), "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	return nil
}

// Cluster is a PostgreSQL server of a test's own, which the test may stop and start again (fault
// tests); it is removed when the test ends.
type Cluster struct {
	c *throwaway
	t testing.TB
}

// NewCluster starts a dedicated throwaway cluster from the local PostgreSQL binaries.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := startThrowaway()
	if err != nil {
		t.Skipf("cannot start a throwaway PostgreSQL cluster: %v", err)
	}
	t.Cleanup(c.stop)
	return &Cluster{c: c, t: t}
}

// URL is the admin URL of the cluster's postgres database.
func (k *Cluster) URL() string { return k.c.url }

// Port is the cluster's TCP port.
func (k *Cluster) Port() int { return k.c.port }

// Stop stops the server at once (connections are cut, as in a crash or failover).
func (k *Cluster) Stop() {
	k.t.Helper()
	if out, err := k.c.run(k.c.pgctl, "-D", filepath.Join(k.c.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		k.t.Fatalf("pg_ctl stop: %v: %s", err, out)
	}
}

// Start starts the server again on the same port.
func (k *Cluster) Start() {
	k.t.Helper()
	if err := k.c.start(); err != nil {
		k.t.Fatal(err)
	}
}

func (c *throwaway) run(prog string, args ...string) (string, error) {
	cmd := exec.Command(prog, args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (c *throwaway) stop() {
	c.run(c.pgctl, "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "stop") //nolint:errcheck
	os.RemoveAll(c.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
