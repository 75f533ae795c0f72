package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-oss/tandem/metrics"
)

// Existing is what a running Prometheus already holds of a target's Tandem series, which decides
// what a backfill may write: only the time before the first live scrape, and only once.
type Existing struct {
	// FirstLive is the first live scrape of the target (its tandem_up), zero if it was never
	// scraped. The health series are never backfilled, so they date the live scrapes.
	FirstLive time.Time
	// Backfilled reports business series before FirstLive (anywhere in the range, without live
	// scrapes): a backfill has already run over the range.
	Backfilled bool
}

// Selector is the PromQL label matchers of the target labels, values escaped for PromQL.
func Selector(target map[string]string) string {
	var parts []string
	for _, kv := range sortedTarget(target) {
		parts = append(parts, kv[0]+"="+strconv.Quote(kv[1]))
	}
	return strings.Join(parts, ",")
}

// businessNames is a regular expression of the backfilled families' names.
func businessNames() string {
	var names []string
	for _, d := range Families() {
		names = append(names, d.Name)
	}
	return strings.Join(names, "|")
}

// Inspect asks the Prometheus at base (its HTTP API) what it holds of the target's series between
// from and to.
func Inspect(ctx context.Context, client *http.Client, base string, target map[string]string, from, to time.Time) (Existing, error) {
	sel := Selector(target)
	span := max(int64(math.Ceil(to.Sub(from).Seconds())), 1)
	var ex Existing
	// The first live scrape: the earliest hour with a tandem_up sample (or, scraped for less
	// than the hour, now), then the exact first sample in the hour before it.
	coarse, err := queryScalar(ctx, client, base, fmt.Sprintf("min(min_over_time(timestamp(%s{%s})[%ds:1h]))", metrics.Up, sel, span), to)
	if err != nil {
		return ex, err
	}
	at := to
	if coarse != nil {
		at = time.UnixMilli(int64(*coarse * 1000))
	}
	first, err := queryScalar(ctx, client, base, fmt.Sprintf("min(min_over_time(timestamp(%s{%s})[1h:1s]))", metrics.Up, sel), at)
	if err != nil {
		return ex, err
	}
	if first == nil {
		first = coarse
	}
	if first != nil {
		ex.FirstLive = time.UnixMilli(int64(math.Round(*first * 1000))).UTC()
	}
	end := to
	if !ex.FirstLive.IsZero() && ex.FirstLive.Before(end) {
		end = ex.FirstLive.Add(-time.Millisecond)
	}
	if end.After(from) {
		n, err := queryScalar(ctx, client, base, fmt.Sprintf(`count(last_over_time({__name__=~"%s",%s}[%dms]))`,
			businessNames(), sel, end.Sub(from).Milliseconds()), end)
		if err != nil {
			return ex, err
		}
		ex.Backfilled = n != nil && *n > 0
	}
	return ex, nil
}

// queryScalar runs an instant query whose result is at most one series and returns its value,
// nil for an empty result.
func queryScalar(ctx context.Context, client *http.Client, base, expr string, at time.Time) (*float64, error) {
	q := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/v1/query", strings.NewReader(q.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("--backfill.prometheus-url: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("--backfill.prometheus-url %s answered %s, not the Prometheus API: %.200s", base, resp.Status, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("--backfill.prometheus-url %s: query %s: %s", base, expr, r.Error)
	}
	if len(r.Data.Result) == 0 {
		return nil, nil
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("--backfill.prometheus-url: query %s: value %q", expr, s)
	}
	return &v, nil
}

// RefusalError says a backfill would write over history Prometheus already holds, and how to
// rerun it.
type RefusalError struct {
	Base     string
	Target   map[string]string
	From, To time.Time
}

func (e *RefusalError) Error() string {
	match := "{__name__=~\"tandem_.+\"," + Selector(e.Target) + "}"
	return fmt.Sprintf("Prometheus at %s already holds backfilled Tandem series for %s between %s and %s: a second backfill "+
		"would write the same history twice. To rerun it, delete them first (Prometheus started with --web.enable-admin-api): "+
		"curl -X POST -g '%s/api/v1/admin/tsdb/delete_series?match[]=%s&start=%d&end=%d', or pick another --backfill.range",
		e.Base, Selector(e.Target), e.From.Format(time.RFC3339), e.To.Format(time.RFC3339),
		strings.TrimRight(e.Base, "/"), url.QueryEscape(match), e.From.Unix(), e.To.Unix())
}

// ParseLabels parses name=value pairs (the --backfill.label flag) into target labels; a name must
// be a valid Prometheus label name.
func ParseLabels(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok || !validLabel(name) {
			return nil, fmt.Errorf("--backfill.label %q: want name=value with a label name of letters, digits and _", p)
		}
		if strings.HasPrefix(name, "__") {
			return nil, fmt.Errorf("--backfill.label %q: names starting with __ are reserved", p)
		}
		out[name] = value
	}
	return out, nil
}

func validLabel(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
