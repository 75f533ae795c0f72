package poller

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// errAborted is what a read or a dial returns once the exporter has aborted its connections.
var errAborted = errors.New("connection aborted: the exporter is shutting down")

// deadlineDialer opens the driver's TCP connections so that no database operation can block
// forever, whatever the other end does. A server that accepts connections and never answers (a
// stopped process, PgBouncer or a cloud proxy in front of a dead upstream) would otherwise hang
// the driver in its start-up handshake, in a query, and in the cancel request it sends when a
// query's context ends, since none of those reads has a deadline of its own.
//
// Every Read and Write gets a deadline of at most ioTimeout from its start (query_timeout plus a
// grace: the server's own statement_timeout answers first when the server is alive), combined
// with any deadline the driver sets itself (connect_timeout). Abort closes every connection at
// once, so shutdown never waits on a database.
type deadlineDialer struct {
	connectTimeout time.Duration
	ioTimeout      time.Duration

	mu      sync.Mutex
	conns   map[*deadlineConn]struct{}
	aborted bool
}

func newDeadlineDialer(connectTimeout, ioTimeout time.Duration) *deadlineDialer {
	return &deadlineDialer{connectTimeout: connectTimeout, ioTimeout: ioTimeout, conns: map[*deadlineConn]struct{}{}}
}

// DialContext is pgx's DialFunc (pgconn.Config.DialFunc), for its connections and for the
// cancel requests it sends.
func (d *deadlineDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d.isAborted() {
		return nil, errAborted
	}
	ctx, cancel := context.WithTimeout(ctx, d.connectTimeout)
	defer cancel()
	c, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c, io: d.ioTimeout, owner: d}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.aborted {
		c.Close()
		return nil, errAborted
	}
	d.conns[dc] = struct{}{}
	return dc, nil
}

func (d *deadlineDialer) isAborted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.aborted
}

// Abort closes every open connection and refuses new ones: blocked reads return at once.
func (d *deadlineDialer) Abort() {
	d.mu.Lock()
	d.aborted = true
	conns := d.conns
	d.conns = map[*deadlineConn]struct{}{}
	d.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

func (d *deadlineDialer) forget(c *deadlineConn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

// deadlineConn bounds each Read and Write; the driver's own deadlines still apply when earlier.
type deadlineConn struct {
	net.Conn
	io    time.Duration
	owner *deadlineDialer

	mu                  sync.Mutex
	readLimit, writeLim time.Time // set by the driver through Set*Deadline; zero: none
}

func earliest(a time.Time, limit time.Time) time.Time {
	if !limit.IsZero() && limit.Before(a) {
		return limit
	}
	return a
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	limit := c.readLimit
	c.mu.Unlock()
	if err := c.Conn.SetReadDeadline(earliest(time.Now().Add(c.io), limit)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	limit := c.writeLim
	c.mu.Unlock()
	if err := c.Conn.SetWriteDeadline(earliest(time.Now().Add(c.io), limit)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// The Set*Deadline methods record the driver's deadline for the next operations and apply it to
// one in progress too, so a deadline set to interrupt a blocked read still does.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readLimit = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(earliest(time.Now().Add(c.io), t))
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeLim = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(earliest(time.Now().Add(c.io), t))
}

func (c *deadlineConn) Close() error {
	c.owner.forget(c)
	return c.Conn.Close()
}

// readBuffer is how much of the server's output one read of a connection takes at most. pgx
// reads into a buffer of 8 KiB (its chunk reader's), so a full read of a million leads'
// rows took some 93,000 reads, each a system call and a deadline set (deadlineConn): the server
// writes faster than the rows are folded, and the socket holds more than 8 KiB most of the time.
const readBuffer = 64 << 10

// bufferedFrontend is pgx's frontend reading the connection through a buffer of readBuffer
// bytes (pgconn.Config.BuildFrontend). The frontend is the connection's only reader once it is
// built, so the buffer hides nothing from pgx. (PgConn.SyncConn, which readies the net.Conn for
// use by hand, would not see what the buffer holds: Tandem never takes the net.Conn over.)
func bufferedFrontend(r io.Reader, w io.Writer) *pgproto3.Frontend {
	return pgproto3.NewFrontend(bufio.NewReaderSize(r, readBuffer), w)
}
