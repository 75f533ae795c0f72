package exporter_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/deploy/postgres"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/metrics"
)

// The exporter works with exactly the documented least-privilege role, which cannot read
// personal data.
func TestLeastPrivilegeRole(t *testing.T) {
	w := newWorld(t, 41, 300, "", ordinary)
	role := fmt.Sprintf("tandem_reader_%d", time.Now().UnixNano()%1e9)
	grants, err := os.ReadFile("../deploy/postgres/least-privilege.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.crm.Exec(strings.ReplaceAll(string(grants), "tandem_reader", role)); err != nil {
		t.Fatalf("applying deploy/postgres/least-privilege.sql: %v", err)
	}
	t.Cleanup(func() {
		w.crm.Exec("DROP OWNED BY " + role) //nolint:errcheck
		w.crm.Exec("DROP ROLE " + role)     //nolint:errcheck
	})
	asRole := strings.Replace(w.crmURL, "postgres@", role+":change-me@", 1)
	w.crmURL, w.campURL = asRole, asRole
	w.cfg = reparse(t, w, w.config()+slaAttempts)

	e := w.exporter()
	if err := e.Check(context.Background()); err != nil {
		t.Fatalf("--config.check as %s: %v", role, err)
	}
	poll(t, e)
	got := series(t, e.Registry, published)
	want := w.expected()
	compare(t, "as the least-privilege role", got, want)
	if up := series(t, e.Registry, func(n string) bool { return n == metrics.Up }); len(up) != 2 {
		t.Errorf("up: %v", up)
	}

	reader, err := sqlx.Open("postgres", asRole)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var email string
	if err := reader.Get(&email, "SELECT email FROM leads LIMIT 1"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the role can read e-mail addresses: %v", err)
	}
	if _, err := reader.Exec("DELETE FROM leads"); err == nil {
		t.Error("the role can delete")
	}
}

// A configured query can only read: text with a second statement is refused when the
// configuration loads, and a single statement that writes (a data-modifying CTE) fails both the
// start-up check and the poll, because every query runs as a subquery inside the poll's
// read-only transaction. The table is unchanged afterwards.
func TestQueriesCannotWrite(t *testing.T) {
	w := newWorld(t, 43, 200, "", ordinary)
	withOwners := func(sql string) string {
		return strings.Replace(w.config(), "crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}",
			"crm:\n    dsn_env: CRM\n    queries:\n      owners: |\n        "+sql+"\n", 1)
	}
	var before int
	if err := w.crm.Get(&before, "SELECT count(*) FROM owners"); err != nil {
		t.Fatal(err)
	}
	const steal = "INSERT INTO owners (id, name, email, sales_team, region) VALUES (990001, 'x', 'x@example.org', 'x', 'x')"

	_, err := config.Parse([]byte(withOwners("COMMIT; "+steal+"; SELECT id, name, sales_team, region FROM owners")), "tandem.yml",
		func(string) string { return w.crmURL })
	if err == nil || !strings.Contains(err.Error(), "databases.crm.queries.owners") || !strings.Contains(err.Error(), "more than one SQL statement") {
		t.Fatalf("multi-statement owners query: want a config error naming it, got %v", err)
	}

	w.cfg = reparse(t, w, withOwners("WITH stolen AS ("+steal+" RETURNING id) SELECT id, name, sales_team, region FROM owners"))
	e := w.exporter()
	if err := e.Check(context.Background()); err == nil {
		t.Error("--config.check accepted a query that writes")
	}
	if err := e.CheckStartup(context.Background()); err == nil {
		t.Error("the start-up check accepted a query that writes")
	}
	if err := e.PollOnce(context.Background()); err == nil {
		t.Error("a poll ran a query that writes")
	}
	var after int
	if err := w.crm.Get(&after, "SELECT count(*) FROM owners"); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("owners: %d rows before, %d after: a query wrote", before, after)
	}
}

// The grants file runs as its header says: in the CRM database and in the campaign database,
// each holding only its own tables, and again without error.
func TestLeastPrivilegeFilePerDatabase(t *testing.T) {
	role := fmt.Sprintf("tandem_reader_%d", time.Now().UnixNano()%1e9)
	grants, err := os.ReadFile("../deploy/postgres/least-privilege.sql")
	if err != nil {
		t.Fatal(err)
	}
	sql := strings.ReplaceAll(string(grants), "tandem_reader", role)
	ctx := context.Background()
	var dbs []*sqlx.DB
	for _, schema := range []string{postgres.CRMSchema, postgres.CampaignsSchema} {
		db, _ := testdb.Open(t)
		if err := demo.ApplySchema(ctx, db, schema); err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	t.Cleanup(func() {
		for _, db := range dbs {
			db.Exec("DROP OWNED BY " + role) //nolint:errcheck
		}
		dbs[0].Exec("DROP ROLE " + role) //nolint:errcheck
	})
	for round := 1; round <= 2; round++ {
		for i, db := range dbs {
			if _, err := db.Exec(sql); err != nil {
				t.Fatalf("round %d, database %d: %v", round, i, err)
			}
		}
	}
	for i, want := range []string{"leads", "marketing_touchpoints"} {
		var ok bool
		if err := dbs[i].Get(&ok, "SELECT has_table_privilege($1, $2, 'SELECT') OR has_any_column_privilege($1, $2, 'SELECT')", role, want); err != nil || !ok {
			t.Errorf("%s: no SELECT for the role (%v)", want, err)
		}
	}
}
