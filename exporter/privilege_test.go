package exporter_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

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
