package alerting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"gopkg.in/yaml.v3"

	"github.com/tandem-oss/tandem/alerting"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/deploy/postgres"
	"github.com/tandem-oss/tandem/internal/promstack"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/internal/testexporter"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// webhook records what Alertmanager delivers, by path (= receiver).
type webhook struct {
	mu   sync.Mutex
	msgs []delivery
}

type delivery struct {
	Path   string
	Status string
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var d delivery
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &d); err == nil {
		d.Path = r.URL.Path
		w.mu.Lock()
		w.msgs = append(w.msgs, d)
		w.mu.Unlock()
	}
	rw.WriteHeader(http.StatusOK)
}

// find reports whether an alert with the given status and labels was delivered to path.
func (w *webhook) find(path, status, alertname string, labels map[string]string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range w.msgs {
		if d.Path != path {
			continue
		}
		for _, a := range d.Alerts {
			if a.Status != status || a.Labels["alertname"] != alertname {
				continue
			}
			ok := true
			for k, v := range labels {
				ok = ok && a.Labels[k] == v
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// alertmanagerConfig is the repository's Alertmanager configuration with the webhooks pointed at
// the test receiver and the timers shortened.
func alertmanagerConfig(t *testing.T, hook string) string {
	raw, err := os.ReadFile("../deploy/alertmanager/alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	route := cfg["route"].(map[string]any)
	route["group_wait"], route["group_interval"] = "1s", "1s"
	for _, r := range cfg["receivers"].([]any) {
		rec := r.(map[string]any)
		for _, wc := range rec["webhook_configs"].([]any) {
			w := wc.(map[string]any)
			w["url"] = hook + "/" + rec["name"].(string)
		}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// A lead waits past its SLA: the alert fires in Prometheus and reaches the sales receiver with
// team=sales; once the lead is touched it resolves in both.
func TestLeadWaitingAlertEndToEnd(t *testing.T) {
	promstack.Binary(t, "prometheus")
	promstack.Binary(t, "prometheus-alertmanager", "alertmanager")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The CRM: one owner, one lead that qualified two hours ago and nobody has called.
	url := testdb.New(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := demo.ApplySchema(ctx, db, postgres.CRMSchema); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := db.Exec(`INSERT INTO owners (id, name, sales_team, region) VALUES (1, 'Ava Adler', 'na-inbound', 'na')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO leads (id, created_at, updated_at, source, region, segment, owner_id, status, mql_at)
		VALUES (1, $1, $1, 'paid_search', 'na', 'smb', 1, 'MQL', $1)`, now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}

	// The exporter, polling every 2s, served over HTTP.
	_, target := testexporter.Serve(t, "databases:\n  crm: {dsn_env: CRM, poll_interval: 2s, query_timeout: 2s}\n", map[string]string{"CRM": url}, time.Now)

	hook := &webhook{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	am := promstack.Alertmanager(t, alertmanagerConfig(t, hookSrv.URL))

	// The generated rules, with the waiting alert's "for" shortened for the test.
	opts := alerting.Defaults()
	opts.WaitingFor = "2s"
	rules, err := alerting.YAML(alerting.Build(opts))
	if err != nil {
		t.Fatal(err)
	}
	prom := promstack.Prometheus(t, fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [tandem.rules.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: ['%s']}]}]
scrape_configs:
  - job_name: tandem
    static_configs: [{targets: ['%s']}]
`, strings.TrimPrefix(am.URL, "http://"), target), map[string][]byte{"tandem.rules.yml": rules})

	labels := map[string]string{"team": "sales", "severity": "page", "sales_team": "na-inbound", "region": "na"}
	promstack.Eventually(t, 60*time.Second, "alert firing in Prometheus", func() string {
		alerts, err := prom.Alerts()
		if err != nil {
			return err.Error()
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == alerting.AlertLeadsWaiting && a.State == "firing" && a.Labels["team"] == "sales" && a.Labels["sales_team"] == "na-inbound" {
				if !strings.Contains(a.Annotations["description"], "The oldest has waited 2h") {
					return "description lacks the oldest wait: " + a.Annotations["description"]
				}
				return ""
			}
		}
		return fmt.Sprintf("alerts: %+v", alerts)
	})
	promstack.Eventually(t, 30*time.Second, "firing alert delivered to the sales receiver", func() string {
		if hook.find("/sales", "firing", alerting.AlertLeadsWaiting, labels) {
			return ""
		}
		return "not delivered; Alertmanager log:\n" + am.Log()
	})
	if hook.find("/marketing", "firing", alerting.AlertLeadsWaiting, nil) {
		t.Error("the sales alert reached marketing")
	}
	for _, quiet := range []string{alerting.AlertExporterDown, alerting.AlertDataStale, alerting.AlertComplianceLow, alerting.AlertInflowCollapsed} {
		alerts, _ := prom.Alerts()
		for _, a := range alerts {
			if a.Labels["alertname"] == quiet {
				t.Errorf("%s is %s in a healthy setup", quiet, a.State)
			}
		}
	}

	// A rep calls the lead: the alert resolves.
	if _, err := db.Exec(`INSERT INTO sales_activities (id, lead_id, owner_id, kind, occurred_at, updated_at) VALUES (1, 1, 1, 'call', $1, $1)`, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	promstack.Eventually(t, 60*time.Second, "alert resolved in Prometheus", func() string {
		alerts, err := prom.Alerts()
		if err != nil {
			return err.Error()
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == alerting.AlertLeadsWaiting {
				return "still " + a.State
			}
		}
		return ""
	})
	promstack.Eventually(t, 30*time.Second, "resolution delivered to the sales receiver", func() string {
		if hook.find("/sales", "resolved", alerting.AlertLeadsWaiting, labels) {
			return ""
		}
		return "not delivered"
	})
}

// With one exporter per CRM, a broken exporter mutes only its own alerts: the repository's
// inhibit rules, loaded into a real Alertmanager, inhibit the alerts of the exporter whose data is
// stale or which is down, and leave the other CRM's alerts alone.
func TestInhibitionIsPerExporter(t *testing.T) {
	promstack.Binary(t, "prometheus-alertmanager", "alertmanager")
	hook := &webhook{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	am := promstack.Alertmanager(t, alertmanagerConfig(t, hookSrv.URL))

	waiting := func(instance string) map[string]string {
		return map[string]string{"alertname": alerting.AlertLeadsWaiting, "team": "sales", "severity": "page", "database": "crm",
			"job": "tandem", "instance": instance, "sales_team": "na-inbound", "region": "na"}
	}
	stale := map[string]string{"alertname": alerting.AlertDataStale, "team": "sales", "severity": "ticket", "database": "crm", "job": "tandem", "instance": "crm-a:9866"}
	down := map[string]string{"alertname": alerting.AlertExporterDown, "team": "ops", "severity": "page", "job": "tandem", "instance": "crm-c:9866"}
	post := func(ls ...map[string]string) {
		var alerts []map[string]any
		for _, l := range ls {
			alerts = append(alerts, map[string]any{"labels": l, "startsAt": time.Now().Add(-time.Minute).Format(time.RFC3339)})
		}
		body, _ := json.Marshal(alerts)
		promstack.Eventually(t, 30*time.Second, "Alertmanager takes the alerts", func() string {
			resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", strings.NewReader(string(body)))
			if err != nil {
				return err.Error()
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return resp.Status
			}
			return ""
		})
	}
	// The causes first, as in life (stale data and a dead exporter come before the alerts they
	// mute are evaluated on frozen numbers), then the alerts they should or should not mute.
	post(stale, down)
	promstack.Eventually(t, 30*time.Second, "the causes listed", func() string {
		resp, err := http.Get(am.URL + "/api/v2/alerts")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		var got []any
		if json.NewDecoder(resp.Body).Decode(&got) != nil || len(got) < 2 {
			return "not yet"
		}
		return ""
	})
	// Listed is not yet known to the inhibitor, which takes alerts from its own subscription: a
	// target posted at once could be notified before it had the causes (a group's first flush
	// comes right away here). Probes of another muted alert, suppressed in the API's view (which
	// asks the inhibitor), show it has them; a probe notified meanwhile is not what is checked.
	probe := func(instance string) map[string]string {
		l := waiting(instance)
		l["alertname"] = alerting.AlertBacklog
		return l
	}
	post(probe("crm-a:9866"), probe("crm-c:9866"))
	promstack.Eventually(t, 30*time.Second, "the inhibitor has the causes", func() string {
		state, err := alertStates(am.URL)
		if err != nil {
			return err.Error()
		}
		suppressed := 0
		for _, instance := range []string{"crm-a:9866", "crm-c:9866"} {
			if state[alerting.AlertBacklog+"@"+instance] == "suppressed" {
				suppressed++
			}
		}
		if suppressed < 2 {
			return fmt.Sprintf("%d of 2 probes suppressed", suppressed)
		}
		return ""
	})
	post(waiting("crm-a:9866"), waiting("crm-b:9866"), waiting("crm-c:9866"))
	promstack.Eventually(t, 30*time.Second, "inhibition per exporter", func() string {
		state, err := alertStates(am.URL)
		if err != nil {
			return err.Error()
		}
		want := map[string]string{
			alerting.AlertLeadsWaiting + "@crm-a:9866": "suppressed", // its data is stale
			alerting.AlertLeadsWaiting + "@crm-b:9866": "active",     // another CRM: still pages
			alerting.AlertLeadsWaiting + "@crm-c:9866": "suppressed", // its exporter is down
			alerting.AlertDataStale + "@crm-a:9866":    "active",
			alerting.AlertExporterDown + "@crm-c:9866": "active",
		}
		for k, v := range want {
			if state[k] != v {
				return fmt.Sprintf("%s is %q, want %q (all: %v)", k, state[k], v, state)
			}
		}
		return ""
	})
	promstack.Eventually(t, 30*time.Second, "pages and tickets at their receivers", func() string {
		switch {
		case !hook.find("/sales", "firing", alerting.AlertLeadsWaiting, map[string]string{"instance": "crm-b:9866"}):
			return "the other CRM's page did not reach sales"
		case !hook.find("/sales-tickets", "firing", alerting.AlertDataStale, nil):
			return "the stale-data ticket did not reach sales-tickets"
		case !hook.find("/ops", "firing", alerting.AlertExporterDown, nil):
			return "exporter down did not reach ops"
		}
		return ""
	})
	if hook.find("/sales", "firing", alerting.AlertLeadsWaiting, map[string]string{"instance": "crm-a:9866"}) {
		t.Error("the alert of the CRM with stale data was delivered")
	}
}

// alertStates is the state (active, suppressed) of each alert Alertmanager at url holds, by
// alertname@instance. The API asks the inhibitor and the silences for each alert it lists.
func alertStates(url string) (map[string]string, error) {
	resp, err := http.Get(url + "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var got []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		return nil, err
	}
	state := map[string]string{}
	for _, a := range got {
		state[a.Labels["alertname"]+"@"+a.Labels["instance"]] = a.Status.State
	}
	return state, nil
}
