package exporter_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/common/expfmt"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/internal/promstack"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/internal/testexporter"
	"github.com/tandem-oss/tandem/metrics"
)

const password = "Fault-Pw-7Qx"

// syncBuffer collects the exporter's logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// faulty is an exporter whose databases live on a cluster the test can stop, kill and slow down.
type faulty struct {
	t       *testing.T
	cluster *testdb.Cluster
	db      *sqlx.DB // admin connection to the data database
	dsn     string   // with a password, which must never be printed
	logs    *syncBuffer
	exp     *exporter.Exporter
	cancel  context.CancelFunc
}

func newFaulty(t *testing.T, leadsQuery string) *faulty {
	t.Helper()
	f := &faulty{t: t, cluster: testdb.NewCluster(t), logs: &syncBuffer{}}
	admin, err := sqlx.Open("postgres", f.cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE tandem"); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(f.cluster.URL(), "/postgres?", "/tandem?", 1)
	f.dsn = strings.Replace(url, "postgres@", "postgres:"+password+"@", 1)
	if f.db, err = sqlx.Open("postgres", url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	f.db.SetMaxOpenConns(2)
	if _, err := demo.Load(context.Background(), f.db, f.db,
		demo.Options{Seed: 31, Leads: 400, Now: time.Now(), Days: 200, Dirty: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(`CREATE TABLE tandem_fault (slow boolean NOT NULL); INSERT INTO tandem_fault VALUES (false)`); err != nil {
		t.Fatal(err)
	}
	queries := ""
	if leadsQuery != "" {
		queries = "\n    queries:\n      leads: |\n        " + leadsQuery
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`databases:
  crm:
    dsn_env: DSN
    poll_interval: 2s
    query_timeout: 1s%s
  campaigns: {dsn_env: DSN, poll_interval: 2s, query_timeout: 1s}
targets: {currency_rates: {EUR: "1.08", GBP: "1.27"}}
`, queries)), "faults.yml", func(string) string { return f.dsn })
	if err != nil {
		t.Fatal(err)
	}
	f.exp, err = exporter.New(cfg, slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.cancel()
		f.exp.Wait()
		f.exp.Close()
		f.noSecrets()
	})
	return f
}

func (f *faulty) start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.exp.Start(ctx)
}

// scrape renders /metrics as Prometheus would read it.
func (f *faulty) scrape() string {
	f.t.Helper()
	mfs, err := f.exp.Registry.Gather()
	if err != nil {
		f.t.Fatalf("the exporter cannot be scraped: %v", err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		enc.Encode(mf) //nolint:errcheck
	}
	return b.String()
}

func (f *faulty) value(name string, labels map[string]string) float64 {
	return series(f.t, f.exp.Registry, func(n string) bool { return n == name })[seriesKey(name, labels)]
}

// sum adds a period metric up over this fiscal year and the last: every lead, since the fault
// tests' data spans 200 days.
func (f *faulty) sum(name string) float64 {
	total := 0.0
	for k, v := range series(f.t, f.exp.Registry, func(n string) bool { return n == name }) {
		if _, labels := parseKey(k); labels["period"] == "this_year" || labels["period"] == "last_year" {
			total += v
		}
	}
	return total
}

func (f *faulty) up(db string) float64 { return f.value(metrics.Up, map[string]string{"database": db}) }

func (f *faulty) leadsInDB() float64 {
	f.t.Helper()
	var n float64
	if err := f.db.Get(&n, "SELECT count(*) FROM leads"); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// noSecrets: the DSN's password appears nowhere the exporter writes.
func (f *faulty) noSecrets() {
	for where, text := range map[string]string{"logs": f.logs.String(), "/metrics": f.scrape()} {
		if strings.Contains(text, password) {
			f.t.Errorf("the DSN password appears in the %s", where)
		}
	}
}

// waitUp waits for the first successful poll of the CRM.
func (f *faulty) waitUp() {
	f.t.Helper()
	eventually(f.t, "first poll", func() string {
		if f.up("crm") != 1 {
			return "not up"
		}
		return ""
	})
}

func eventually(t *testing.T, what string, cond func() string) {
	t.Helper()
	promstack.Eventually(t, 30*time.Second, what, cond)
}

// The database is down when the exporter starts: it starts anyway, serves its health metrics,
// retries with backoff, and reads everything once the database is back.
func TestFaultUnreachableAtStartup(t *testing.T) {
	f := newFaulty(t, "")
	f.cluster.Stop()
	if err := f.exp.CheckStartup(context.Background()); err != nil {
		t.Fatalf("an unreachable database must not stop the exporter: %v", err)
	}
	f.start()
	time.Sleep(4 * time.Second)
	if body := f.scrape(); !strings.Contains(body, `tandem_up{database="crm"} 0`) || strings.Contains(body, metrics.LeadsCreated+"{") {
		t.Fatalf("while down: want up 0 and no funnel numbers, got:\n%.1500s", body)
	}
	polls := f.value(metrics.Polls, map[string]string{"database": "crm"})
	if polls < 3 || polls > 5 {
		t.Errorf("in 4s with a 2s interval and 1s, 2s backoff: %v polls, want 3 to 5", polls)
	}
	f.cluster.Start()
	eventually(t, "recovery", func() string {
		if f.up("crm") != 1 || f.up("campaigns") != 1 {
			return "not up yet"
		}
		if got, want := f.sum(metrics.LeadsCreated), f.leadsInDB(); got != want {
			return fmt.Sprintf("leads %v, database has %v", got, want)
		}
		return ""
	})
}

// The database stops mid-run and comes back: values are kept (and marked by up 0 and an old
// last-success time) while it is down, and nothing is lost or counted twice afterwards.
func TestFaultRestartMidRun(t *testing.T) {
	f := newFaulty(t, "")
	f.start()
	f.waitUp()
	before := f.sum(metrics.LeadsCreated)
	f.cluster.Stop()
	eventually(t, "the outage is reported", func() string {
		if f.up("crm") != 0 {
			return "still up"
		}
		return ""
	})
	lastOK := f.value(metrics.LastSuccessfulPoll, map[string]string{"database": "crm"})
	time.Sleep(3 * time.Second)
	if got := f.sum(metrics.LeadsCreated); got != before {
		t.Errorf("while down, leads created changed from %v to %v; the last values must stay", before, got)
	}
	if got := f.value(metrics.LastSuccessfulPoll, map[string]string{"database": "crm"}); got != lastOK {
		t.Errorf("last successful poll moved while the database was down")
	}
	f.cluster.Start()
	for i := 1; i <= 3; i++ {
		if _, err := f.db.Exec(`INSERT INTO leads (id, created_at, updated_at, source, region, segment, status) VALUES ($1, now(), now(), 'email', 'na', 'smb', 'New')`, 900000+i); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "recovery without loss or double counting", func() string {
		if got, want := f.sum(metrics.LeadsCreated), f.leadsInDB(); got != want || want != before+3 {
			return fmt.Sprintf("leads %v, database has %v (was %v before the outage)", got, want, before)
		}
		return ""
	})
}

// Connections killed in the middle of a poll: that poll fails, the next one succeeds.
func TestFaultTerminatedConnections(t *testing.T) {
	f := newFaulty(t, `SELECT l.id, l.created_at, l.updated_at, l.source, l.region, l.segment, l.owner_id, l.status, l.mql_at, l.sql_at, l.disqualified_at, l.disqualified_reason FROM leads l CROSS JOIN (SELECT pg_sleep(0.6)) s`)
	f.start()
	f.waitUp()
	eventually(t, "a poll killed mid-query", func() string {
		var killed int
		if err := f.db.Get(&killed, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = 'tandem' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(0.6)%' AND state = 'active'`); err != nil {
			return err.Error()
		}
		if killed == 0 || f.value(metrics.PollFailures, map[string]string{"database": "crm"}) == 0 {
			time.Sleep(50 * time.Millisecond)
			return "no poll caught yet"
		}
		return ""
	})
	eventually(t, "recovery", func() string {
		if f.up("crm") != 1 {
			return "not up"
		}
		if got, want := f.sum(metrics.LeadsCreated), f.leadsInDB(); got != want {
			return fmt.Sprintf("leads %v, database has %v", got, want)
		}
		return ""
	})
}

// A query slower than its timeout is cancelled on the server, the poll fails, the previous
// values stay; once the query is fast again, polls succeed.
func TestFaultSlowQueryCancelled(t *testing.T) {
	f := newFaulty(t, `SELECT l.id, l.created_at, l.updated_at, l.source, l.region, l.segment, l.owner_id, l.status, l.mql_at, l.sql_at, l.disqualified_at, l.disqualified_reason FROM leads l CROSS JOIN (SELECT pg_sleep(CASE WHEN slow THEN 30 ELSE 0 END) FROM tandem_fault) s`)
	f.start()
	f.waitUp()
	before := f.sum(metrics.LeadsCreated)
	if _, err := f.db.Exec(`UPDATE tandem_fault SET slow = true`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the slow poll fails", func() string {
		if f.up("crm") != 0 {
			return "still up"
		}
		return ""
	})
	// Cancelled on the server within the timeout, not left running for 30 seconds.
	time.Sleep(1500 * time.Millisecond)
	var running int
	if err := f.db.Get(&running, `SELECT count(*) FROM pg_stat_activity WHERE datname = 'tandem' AND state = 'active'
		AND query LIKE '%pg_sleep(CASE%' AND now() - query_start > interval '1500 milliseconds'`); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d slow queries still running on the server past their timeout", running)
	}
	if got := f.sum(metrics.LeadsCreated); got != before {
		t.Errorf("previous values not kept: %v, was %v", got, before)
	}
	if f.value(metrics.QueryErrors, map[string]string{"database": "crm", "query": "leads"}) == 0 {
		t.Error("the failing query is not counted in tandem_query_errors_total")
	}
	if _, err := f.db.Exec(`UPDATE tandem_fault SET slow = false`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "recovery", func() string {
		if f.up("crm") != 1 {
			return "not up"
		}
		return ""
	})
	if strings.Contains(f.logs.String(), "statement timeout") == false && strings.Contains(f.logs.String(), "canceling statement") == false {
		t.Logf("logs do not name the timeout:\n%.800s", f.logs.String())
	}
}

// The campaign database is down while the CRM is up: the CRM's numbers are published, each
// database reports its own up.
func TestFaultCampaignsDownCRMUp(t *testing.T) {
	crm, crmURL := testdb.Open(t)
	if _, err := demo.Load(context.Background(), crm, crm,
		demo.Options{Seed: 32, Leads: 300, Now: time.Now(), Days: 200}, nil); err != nil {
		t.Fatal(err)
	}
	cluster := testdb.NewCluster(t)
	campURL := cluster.URL()
	cluster.Stop()
	e := testexporter.Start(t, `databases:
  crm: {dsn_env: CRM, poll_interval: 2s, query_timeout: 1s}
  campaigns: {dsn_env: CAMPAIGNS, poll_interval: 2s, query_timeout: 1s}
targets: {currency_rates: {EUR: "1.08", GBP: "1.27"}}
`, map[string]string{"CRM": crmURL, "CAMPAIGNS": campURL}, nil, time.Now)
	var leads float64
	if err := crm.Get(&leads, "SELECT count(*) FROM leads"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "partial results", func() string {
		got := series(t, e.Registry, func(n string) bool { return n == metrics.Up || n == metrics.LeadsCreated })
		total := 0.0
		for k, v := range got {
			if _, l := parseKey(k); strings.HasPrefix(k, metrics.LeadsCreated) && (l["period"] == "this_year" || l["period"] == "last_year") {
				total += v
			}
		}
		if got[seriesKey(metrics.Up, map[string]string{"database": "crm"})] != 1 || got[seriesKey(metrics.Up, map[string]string{"database": "campaigns"})] != 0 || total != leads {
			return fmt.Sprintf("up crm %v campaigns %v, leads %v of %v", got[seriesKey(metrics.Up, map[string]string{"database": "crm"})],
				got[seriesKey(metrics.Up, map[string]string{"database": "campaigns"})], total, leads)
		}
		return ""
	})
}
