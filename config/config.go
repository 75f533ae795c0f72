// Package config loads tandem.yml strictly: unknown keys, wrong types and invalid values stop
// the exporter at start-up with an error that names the field, the file and the line. Defaults are
// set before decoding, so an empty file gives the documented defaults for the reference schema.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/lib/pq"
	"gopkg.in/yaml.v3"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/money"
	"github.com/tandem-oss/tandem/sla"
	"github.com/tandem-oss/tandem/source"
)

// Config is the whole of tandem.yml.
type Config struct {
	Databases   Databases   `yaml:"databases"`
	Funnel      Funnel      `yaml:"funnel"`
	SLA         SLA         `yaml:"sla"`
	Targets     Targets     `yaml:"targets"`
	Labels      Labels      `yaml:"labels"`
	Attribution Attribution `yaml:"attribution"`
	Grafana     Grafana     `yaml:"grafana"`

	// Resolved values, filled by Load after validation.
	StatusMap   funnel.StatusMap       `yaml:"-"`
	ClockFrom   funnel.Stage           `yaml:"-"`
	Location    *time.Location         `yaml:"-"`
	Rates       map[string]money.Rate  `yaml:"-"`
	Revenue     map[string]money.Cents `yaml:"-"` // target per fiscal period name
	TouchKind   map[string]bool        `yaml:"-"`
	SalesSource map[string]bool        `yaml:"-"`
	// Probability is each opportunity stage's win probability; UnknownStage weighs the others.
	Probability  funnel.StageProbabilities `yaml:"-"`
	UnknownStage funnel.Probability        `yaml:"-"`
	MaxDeal      money.Cents               `yaml:"-"`
	Calendars    *sla.Calendars            `yaml:"-"` // nil: the SLA clock is calendar time
	Calendar     fiscal.Calendar           `yaml:"-"`
	Dims         []Dimension               `yaml:"-"` // enabled lead dimensions, in label order
	// Dimensions are the label names of the enabled dimensions each kind of metric carries:
	// sales metrics the sales dimensions, lead metrics the source too (see metrics.Dims).
	Dimensions metrics.Dimensions `yaml:"-"`
	// SalesIdx and LeadIdx are the positions in Dims of those label sets.
	SalesIdx, LeadIdx []int                   `yaml:"-"`
	Caps              map[string]int          `yaml:"-"` // max values per label name
	sources           map[source.Database]*DB `yaml:"-"`
}

// Databases are the two databases Tandem polls. campaigns is optional.
type Databases struct {
	CRM       *DB `yaml:"crm"`
	Campaigns *DB `yaml:"campaigns"`
}

// DB is one database and how to poll it.
type DB struct {
	Driver       string        `yaml:"driver"`   // postgres or sqlite
	DSNEnv       string        `yaml:"dsn_env"`  // environment variable holding the DSN
	DSNFile      string        `yaml:"dsn_file"` // or a file holding it (a mounted secret)
	PollInterval time.Duration `yaml:"poll_interval"`
	QueryTimeout time.Duration `yaml:"query_timeout"`
	MaxOpenConns int           `yaml:"max_open_connections"`
	// Incremental reads: queries that return updated_at read only rows changed since the last
	// poll (less WatermarkOverlap, for rows committed late); every ReconcileInterval a full read
	// catches hard deletes and drift. ReconcileInterval 0 reads everything every poll.
	WatermarkOverlap time.Duration  `yaml:"watermark_overlap"`
	Reconcile        *time.Duration `yaml:"reconcile_interval"`
	// ReconcileInterval is Reconcile resolved: hourly when not set.
	ReconcileInterval time.Duration     `yaml:"-"`
	Queries           map[string]string `yaml:"queries"` // replacements for the default SQL, by query name
	// DisabledQueries are queries the database cannot answer (a CRM without activity data): not
	// run, and the numbers that need them are not published rather than published false.
	DisabledQueries []string `yaml:"disabled_queries"`
	// QueryAt locates each configured query in the file ("tandem.yml:12"), for errors that
	// arise only when the query runs.
	QueryAt map[string]string `yaml:"-"`

	DSN Secret `yaml:"-"`
}

// Disableable are the queries a database may go without, and what is then left unpublished.
var Disableable = map[string]string{
	source.QueryActivities: "the follow-up SLA numbers and sales touches (without activities every lead would look untouched)",
}

// Enabled reports whether a query runs.
func (d *DB) Enabled(name string) bool {
	for _, n := range d.DisabledQueries {
		if n == name {
			return false
		}
	}
	return true
}

// Query returns the SQL to run for a query: the configured replacement or the default.
func (d *DB) Query(q source.Query) string {
	if s := strings.TrimSpace(d.Queries[q.Name]); s != "" {
		return s
	}
	return q.Default
}

// Funnel maps the CRM's statuses onto the common language.
type Funnel struct {
	// StatusMap adds to (or overrides) the built-in mapping of CRM status values to stages.
	StatusMap map[string]string `yaml:"status_map"`
	// SalesSources are the lead sources that sales generates itself; every other known source is
	// a marketing channel (for marketing-sourced pipeline and revenue).
	SalesSources []string `yaml:"sales_sources"`
	// StageProbability adds to (or overrides) the built-in win probability of each open
	// opportunity stage (a ratio, 0 to 1), which weighs the pipeline in the wall's projection.
	StageProbability map[string]string `yaml:"stage_probability"`
	// DefaultStageProbability weighs a stage the mapping does not know (default 0.1).
	DefaultStageProbability string `yaml:"default_stage_probability"`
}

// Grafana is where the dashboards are served: the alerts link to it. Read by the rule and
// dashboard generators, not by the exporter.
type Grafana struct {
	URL string `yaml:"url"`
}

// Attribution configures revenue attribution to marketing touches.
type Attribution struct {
	TimeDecayHalfLife time.Duration `yaml:"time_decay_half_life"`
}

// SLA is the follow-up service level sales promises marketing.
type SLA struct {
	ClockStart    string        `yaml:"clock_start"` // the stage whose timestamp starts the clock: lead, mql or sql
	Target        time.Duration `yaml:"target"`
	TouchKinds    []string      `yaml:"touch_kinds"`     // activity kinds that count as follow-up
	WaitingMaxAge time.Duration `yaml:"waiting_max_age"` // older untouched leads count as abandoned, not waiting; 0: no limit
	// PageWindow is how long after its deadline a lead still untouched pages the on-call; older
	// breaches are the team lead's backlog.
	PageWindow time.Duration `yaml:"page_window"`
	// BusinessHours makes the SLA clock count business time in the owner's region; absent, the SLA
	// clock is calendar time.
	BusinessHours *BusinessHours `yaml:"business_hours"`
	// Attempts is the optional second rule: at least Count qualifying touches within Within of the
	// clock start.
	Attempts *Attempts `yaml:"attempts"`
}

// BusinessHours are the calendars of the SLA clock: a default and per-region overrides, chosen
// by the region of the lead's owner.
type BusinessHours struct {
	Default *Hours           `yaml:"default"`
	Regions map[string]Hours `yaml:"regions"`
}

// Hours is one region's business calendar.
type Hours struct {
	Timezone string   `yaml:"timezone"` // default UTC
	Days     []string `yaml:"days"`     // default mon..fri
	Hours    string   `yaml:"hours"`    // default 09:00-17:00
	Holidays []string `yaml:"holidays"` // YYYY-MM-DD, in the calendar's time zone
}

// Attempts is the "N attempts within D" rule.
type Attempts struct {
	Count  int           `yaml:"count"`
	Within time.Duration `yaml:"within"`
}

// Targets is the one shared revenue target and how money and time are counted.
type Targets struct {
	Timezone             string            `yaml:"timezone"`
	FiscalYearStartMonth int               `yaml:"fiscal_year_start_month"`
	ReportingCurrency    string            `yaml:"reporting_currency"`
	CurrencyRates        map[string]string `yaml:"currency_rates"` // 1 unit of the key = value units of the reporting currency
	Revenue              map[string]string `yaml:"revenue"`        // FY2026: "4800000", FY2026-Q4: "1300000"
	// MaxDealAmount is the largest believable deal in the reporting currency: larger (and
	// negative) amounts are data errors, skipped and counted.
	MaxDealAmount string `yaml:"max_deal_amount"`
}

// Labels says which dimensions become labels and caps their values.
type Labels struct {
	Source             Label `yaml:"source"`
	Region             Label `yaml:"region"`
	Segment            Label `yaml:"segment"`
	SalesTeam          Label `yaml:"sales_team"`
	Owner              Label `yaml:"owner"`
	DisqualifiedReason Label `yaml:"disqualified_reason"`
	OpportunityStage   Label `yaml:"opportunity_stage"`
	Channel            Label `yaml:"channel"`
	Kind               Label `yaml:"kind"`     // sales activity and touchpoint kinds
	Campaign           Label `yaml:"campaign"` // campaign names: the top max_values by spend keep their name
}

// Label is one label's switch and cardinality cap: values beyond MaxValues fold into "other".
type Label struct {
	Enabled   bool `yaml:"enabled"`
	MaxValues int  `yaml:"max_values"`
}

// Dimension is an enabled lead dimension: a label every lead metric carries.
type Dimension struct {
	Name      string
	MaxValues int
}

// Default returns the configuration for the reference schema.
func Default() *Config {
	return &Config{
		Databases: Databases{
			CRM: &DB{}, // filled by defaultDB: dsn_env TANDEM_CRM_DSN unless a dsn_file is given
		},
		SLA: SLA{ClockStart: "mql", Target: time.Hour, TouchKinds: []string{"call", "email", "meeting"}, WaitingMaxAge: 30 * 24 * time.Hour, PageWindow: 24 * time.Hour},
		Targets: Targets{
			Timezone: "UTC", FiscalYearStartMonth: 1, ReportingCurrency: "USD", MaxDealAmount: "1000000000",
		},
		Labels: Labels{
			Source:             Label{true, 20},
			Region:             Label{true, 20},
			Segment:            Label{false, 10}, // every sales series times the segments: off by default
			SalesTeam:          Label{true, 20},
			Owner:              Label{false, 50},
			DisqualifiedReason: Label{true, 15},
			OpportunityStage:   Label{true, 15},
			Channel:            Label{true, 20},
			Kind:               Label{true, 20},
			Campaign:           Label{true, 20},
		},
		Funnel:      Funnel{SalesSources: []string{"outbound"}},
		Attribution: Attribution{TimeDecayHalfLife: 7 * 24 * time.Hour},
		Grafana:     Grafana{URL: "http://localhost:3000"},
	}
}

// maxStatementTimeout is the largest statement_timeout PostgreSQL accepts: INT_MAX milliseconds,
// about 596 hours.
const maxStatementTimeout = 2147483647 * time.Millisecond

// defaultDB fills what the file leaves out of a database's block. Only absent keys get defaults:
// an explicit value, 0 included, is taken or refused by validation, never replaced.
func defaultDB(v *validator, field string, d *DB, env string) {
	if d.Driver == "" {
		d.Driver = "postgres"
	}
	if d.DSNEnv == "" && d.DSNFile == "" {
		d.DSNEnv = env
	}
	absent := func(key string) bool { return !v.has(field + "." + key) }
	if absent("poll_interval") {
		d.PollInterval = time.Minute
	}
	if absent("query_timeout") {
		d.QueryTimeout = min(30*time.Second, max(d.PollInterval, time.Second))
	}
	if absent("max_open_connections") {
		d.MaxOpenConns = 2
	}
	if absent("watermark_overlap") {
		d.WatermarkOverlap = 5 * time.Minute
	}
	d.ReconcileInterval = time.Hour
	if d.Reconcile != nil {
		d.ReconcileInterval = *d.Reconcile
	}
}

// Error is a configuration error located in the file.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
}

// Load reads and validates a configuration file; getenv resolves DSN variables.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path, getenv)
}

// Parse decodes and validates configuration text.
func Parse(data []byte, file string, getenv func(string) string) (*Config, error) {
	c := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := checkKeys(file, &root); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file means all defaults
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	// A second document would be ignored silently, errors and all.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return nil, fmt.Errorf("%s: after the first YAML document: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil, fmt.Errorf("%s:%d: a second YAML document (after ---): tandem.yml must be one document", file, line)
	}
	v := &validator{file: file, root: &root}
	c.validate(v, getenv)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return c, nil
}

type validator struct {
	file string
	root *yaml.Node
	errs []error
}

func (v *validator) fail(field, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: lineOf(v.root, field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// has reports whether the file sets a dotted field path.
func (v *validator) has(field string) bool {
	n := v.root
	if n == nil || len(n.Content) == 0 {
		return false
	}
	n = n.Content[0]
	for _, part := range strings.Split(field, ".") {
		if n.Kind != yaml.MappingNode {
			return false
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				n, found = n.Content[i+1], true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// lineOf finds the line of a dotted field path in the YAML tree, or of its nearest parent.
func lineOf(root *yaml.Node, field string) int {
	n := root
	if n == nil || len(n.Content) == 0 {
		return 0
	}
	n = n.Content[0]
	line := 0
	for _, part := range strings.Split(field, ".") {
		if n.Kind != yaml.MappingNode {
			break
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	return line
}

var periodName = regexp.MustCompile(`^FY(\d{4})(-Q[1-4])?$`)

func (c *Config) validate(v *validator, getenv func(string) string) {
	c.sources = map[source.Database]*DB{}
	if c.Databases.CRM == nil {
		v.fail("databases.crm", "is required")
	} else {
		defaultDB(v, "databases.crm", c.Databases.CRM, "TANDEM_CRM_DSN")
		c.validateDB(v, "databases.crm", source.CRM, c.Databases.CRM, getenv)
	}
	if c.Databases.Campaigns != nil {
		defaultDB(v, "databases.campaigns", c.Databases.Campaigns, "TANDEM_CAMPAIGNS_DSN")
		c.validateDB(v, "databases.campaigns", source.Campaigns, c.Databases.Campaigns, getenv)
	}

	// Normalised before the user's entries go in, so that "MQL" overrides the built-in "mql"
	// rather than racing it in map order.
	c.StatusMap = funnel.DefaultStatusMap().Normalize()
	for status, stage := range c.Funnel.StatusMap {
		s, err := funnel.Parse(stage)
		if err != nil {
			v.fail("funnel.status_map."+status, "%v", err)
			continue
		}
		c.StatusMap[funnel.NormalizeName(status)] = s
	}
	c.Probability = funnel.DefaultStageProbabilities().Normalize()
	for stage, ratio := range c.Funnel.StageProbability {
		p, err := funnel.ParseProbability(ratio)
		if err != nil {
			v.fail("funnel.stage_probability."+stage, "%v", err)
			continue
		}
		c.Probability[funnel.NormalizeName(stage)] = p
	}
	c.UnknownStage = funnel.DefaultStageProbability
	if c.Funnel.DefaultStageProbability != "" {
		p, err := funnel.ParseProbability(c.Funnel.DefaultStageProbability)
		if err != nil {
			v.fail("funnel.default_stage_probability", "%v", err)
		}
		c.UnknownStage = p
	}

	switch s, err := funnel.Parse(c.SLA.ClockStart); {
	case err != nil:
		v.fail("sla.clock_start", "%v", err)
	case s != funnel.Lead && s != funnel.MQL && s != funnel.SQL:
		v.fail("sla.clock_start", "must be lead, mql or sql, not %q", c.SLA.ClockStart)
	default:
		c.ClockFrom = s
	}
	if c.Attribution.TimeDecayHalfLife <= 0 {
		v.fail("attribution.time_decay_half_life", "must be a positive duration such as 168h, not %s", c.Attribution.TimeDecayHalfLife)
	}
	c.SalesSource = map[string]bool{}
	for _, s := range c.Funnel.SalesSources {
		c.SalesSource[strings.ToLower(strings.TrimSpace(s))] = true
	}
	if c.SLA.Target <= 0 {
		v.fail("sla.target", "must be a positive duration such as 1h, not %s", c.SLA.Target)
	}
	if c.SLA.WaitingMaxAge < 0 {
		v.fail("sla.waiting_max_age", "must not be negative")
	}
	if c.SLA.PageWindow <= 0 {
		v.fail("sla.page_window", "must be a positive duration such as 24h, not %s", c.SLA.PageWindow)
	}
	if len(c.SLA.TouchKinds) == 0 {
		v.fail("sla.touch_kinds", "must list at least one activity kind")
	}
	if bh := c.SLA.BusinessHours; bh != nil {
		c.Calendars = &sla.Calendars{Regions: map[string]*sla.Calendar{}}
		if bh.Default == nil {
			v.fail("sla.business_hours.default", "is required when business_hours is set: it is the calendar of regions without their own")
		} else {
			c.Calendars.Default = calendar(v, "sla.business_hours.default", *bh.Default)
		}
		for region, h := range bh.Regions {
			c.Calendars.Regions[strings.ToLower(strings.TrimSpace(region))] = calendar(v, "sla.business_hours.regions."+region, h)
		}
	}
	if a := c.SLA.Attempts; a != nil {
		if a.Count < 1 {
			v.fail("sla.attempts.count", "must be at least 1, not %d", a.Count)
		}
		if a.Within <= 0 {
			v.fail("sla.attempts.within", "must be a positive duration such as 72h, not %s", a.Within)
		}
	}
	c.TouchKind = map[string]bool{}
	for _, k := range c.SLA.TouchKinds {
		c.TouchKind[strings.ToLower(strings.TrimSpace(k))] = true
	}

	loc, err := time.LoadLocation(c.Targets.Timezone)
	if err != nil {
		v.fail("targets.timezone", "unknown time zone %q", c.Targets.Timezone)
		loc = time.UTC
	}
	c.Location = loc
	if u, err := url.Parse(c.Grafana.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail("grafana.url", "must be an http(s) URL such as https://grafana.example.com, not %q", c.Grafana.URL)
	}
	if m := c.Targets.FiscalYearStartMonth; m < 1 || m > 12 {
		v.fail("targets.fiscal_year_start_month", "must be 1 to 12, not %d", m)
	} else {
		c.Calendar = fiscal.Calendar{StartMonth: time.Month(m), Location: loc}
	}
	c.Targets.ReportingCurrency = strings.ToUpper(strings.TrimSpace(c.Targets.ReportingCurrency))
	if len(c.Targets.ReportingCurrency) != 3 {
		v.fail("targets.reporting_currency", "must be an ISO 4217 code such as USD, not %q", c.Targets.ReportingCurrency)
	}
	c.Rates = map[string]money.Rate{c.Targets.ReportingCurrency: money.One()}
	for cur, rate := range c.Targets.CurrencyRates {
		r, err := money.ParseRate(rate)
		if err != nil {
			v.fail("targets.currency_rates."+cur, "%v", err)
			continue
		}
		c.Rates[strings.ToUpper(strings.TrimSpace(cur))] = r
	}
	if m, err := money.ParseCents(c.Targets.MaxDealAmount); err != nil || m <= 0 {
		v.fail("targets.max_deal_amount", "must be a positive amount, not %q", c.Targets.MaxDealAmount)
	} else {
		c.MaxDeal = m
	}
	c.Revenue = map[string]money.Cents{}
	for name, amount := range c.Targets.Revenue {
		if !periodName.MatchString(name) {
			v.fail("targets.revenue."+name, "period must be named FY<year> or FY<year>-Q<1-4>, such as FY2026 or FY2026-Q3")
			continue
		}
		a, err := money.ParseCents(amount)
		if err != nil || a < 0 {
			v.fail("targets.revenue."+name, "must be a non-negative amount, not %q", amount)
			continue
		}
		c.Revenue[name] = a
	}

	c.Caps = map[string]int{}
	c.Dims = nil
	for _, l := range []struct {
		name string
		l    Label
		dim  bool
	}{
		{"source", c.Labels.Source, true}, {"region", c.Labels.Region, true}, {"segment", c.Labels.Segment, true},
		{"sales_team", c.Labels.SalesTeam, true}, {"owner", c.Labels.Owner, true},
		{"disqualified_reason", c.Labels.DisqualifiedReason, false}, {"opportunity_stage", c.Labels.OpportunityStage, false},
		{"channel", c.Labels.Channel, false}, {"kind", c.Labels.Kind, false}, {"campaign", c.Labels.Campaign, false},
	} {
		if l.l.MaxValues < 1 {
			v.fail("labels."+l.name+".max_values", "must be at least 1, not %d", l.l.MaxValues)
		}
		c.Caps[l.name] = l.l.MaxValues
		if l.dim && l.l.Enabled {
			c.Dims = append(c.Dims, Dimension{Name: l.name, MaxValues: l.l.MaxValues})
		}
	}
	c.Dimensions, c.SalesIdx, c.LeadIdx = metrics.Dimensions{}, nil, nil
	for i, d := range c.Dims {
		if d.Name != metrics.DimSource {
			c.Dimensions.Sales = append(c.Dimensions.Sales, d.Name)
			c.SalesIdx = append(c.SalesIdx, i)
		}
	}
	for i, d := range c.Dims {
		if d.Name == metrics.DimSource {
			c.Dimensions.Lead = append(c.Dimensions.Lead, d.Name)
			c.LeadIdx = append(c.LeadIdx, i)
		}
	}
	c.Dimensions.Lead = append(c.Dimensions.Lead, c.Dimensions.Sales...)
	c.LeadIdx = append(c.LeadIdx, c.SalesIdx...)
}

func calendar(v *validator, field string, h Hours) *sla.Calendar {
	cal := &sla.Calendar{Location: time.UTC, Holidays: map[sla.Date]bool{}}
	if h.Timezone != "" {
		loc, err := time.LoadLocation(h.Timezone)
		if err != nil {
			v.fail(field+".timezone", "unknown time zone %q", h.Timezone)
		} else {
			cal.Location = loc
		}
	}
	days := h.Days
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, d := range days {
		wd, err := sla.ParseWeekday(d)
		if err != nil {
			v.fail(field+".days", "%v", err)
			continue
		}
		cal.Days[wd] = true
	}
	hours := h.Hours
	if hours == "" {
		hours = "09:00-17:00"
	}
	var err error
	if cal.Open, cal.Close, err = sla.ParseHours(hours); err != nil {
		v.fail(field+".hours", "%v", err)
	}
	for _, hd := range h.Holidays {
		d, err := sla.ParseDate(hd)
		if err != nil {
			v.fail(field+".holidays", "%v", err)
			continue
		}
		cal.Holidays[d] = true
	}
	return cal
}

func (c *Config) validateDB(v *validator, field string, db source.Database, d *DB, getenv func(string) string) {
	c.sources[db] = d
	switch d.Driver {
	case "postgres", "sqlite":
	default:
		v.fail(field+".driver", "must be postgres or sqlite, not %q", d.Driver)
	}
	if d.PollInterval < time.Second {
		v.fail(field+".poll_interval", "must be at least 1s, not %s", d.PollInterval)
	}
	if d.QueryTimeout <= 0 {
		v.fail(field+".query_timeout", "must be positive, not %s", d.QueryTimeout)
	} else if d.Driver == "postgres" && d.QueryTimeout > maxStatementTimeout {
		v.fail(field+".query_timeout", "(%s) exceeds what PostgreSQL's statement_timeout accepts (%s)", d.QueryTimeout, maxStatementTimeout)
	} else if d.QueryTimeout > d.PollInterval {
		v.fail(field+".query_timeout", "(%s) must not exceed poll_interval (%s)", d.QueryTimeout, d.PollInterval)
	}
	if d.WatermarkOverlap < 0 {
		v.fail(field+".watermark_overlap", "must not be negative")
	}
	if d.ReconcileInterval < 0 {
		v.fail(field+".reconcile_interval", "must not be negative (0 reads everything every poll)")
	}
	if d.MaxOpenConns < 1 {
		v.fail(field+".max_open_connections", "must be at least 1, not %d", d.MaxOpenConns)
	}
	for i, name := range d.DisabledQueries {
		if _, ok := source.LookupQuery(db, name); !ok || Disableable[name] == "" {
			var names []string
			for n := range Disableable {
				if _, ok := source.LookupQuery(db, n); ok {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			v.fail(fmt.Sprintf("%s.disabled_queries[%d]", field, i), "%q cannot be disabled (the %s database can go without: %s)", name, db, strings.Join(names, ", "))
		}
	}
	d.QueryAt = map[string]string{}
	for name := range d.Queries {
		if line := lineOf(v.root, field+".queries."+name); line > 0 {
			d.QueryAt[name] = fmt.Sprintf("%s:%d", v.file, line)
		}
	}
	for name, text := range d.Queries {
		if strings.TrimSpace(text) == "" {
			continue // empty: the default query
		}
		stmt, err := source.Statement(text)
		if err != nil {
			v.fail(field+".queries."+name, "%v", err)
		} else {
			d.Queries[name] = stmt
		}
		if _, ok := source.LookupQuery(db, name); !ok {
			var names []string
			for _, q := range source.QueriesFor(db) {
				names = append(names, q.Name)
			}
			v.fail(field+".queries."+name, "unknown query (the %s database has: %s)", db, strings.Join(names, ", "))
		}
	}
	switch {
	case d.DSNEnv != "" && d.DSNFile != "":
		v.fail(field+".dsn_file", "set dsn_env or dsn_file, not both")
	case d.DSNFile != "":
		b, err := readSmall(d.DSNFile)
		if err != nil {
			v.fail(field+".dsn_file", "cannot read the DSN file: %v", err)
		} else if s := strings.TrimSpace(string(b)); s == "" {
			v.fail(field+".dsn_file", "the DSN file %s is empty", d.DSNFile)
		} else {
			d.DSN = Secret(s)
		}
	default:
		if s := strings.TrimSpace(getenv(d.DSNEnv)); s == "" {
			v.fail(field+".dsn_env", "environment variable %s is not set", d.DSNEnv)
		} else {
			d.DSN = Secret(s)
		}
	}
	if d.DSN != "" && d.Driver == "postgres" {
		if _, err := pq.NewConfig(d.DSN.Reveal()); err != nil {
			key, from := field+".dsn_env", "environment variable "+d.DSNEnv
			if d.DSNFile != "" {
				key, from = field+".dsn_file", "the file "+d.DSNFile
			}
			v.fail(key, "%s does not hold a valid PostgreSQL DSN: %s (the value is not shown: it may contain a password)", from, dsnProblem(err))
		}
	}
}

// dsnProblem says what is wrong with a DSN that lib/pq cannot parse, without quoting it: the
// driver's own errors repeat the DSN, password included, or the part of it around the fault.
func dsnProblem(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return "it is neither a postgres:// URL nor space-separated key=value pairs (write postgres://user:password@host:5432/database?sslmode=require, or host=… port=… user=… dbname=…)"
	}
	var esc url.EscapeError
	switch msg := ue.Err.Error(); {
	case errors.As(ue.Err, &esc):
		return "a '%' is not followed by two hexadecimal digits; percent-encode special characters in the user and password (% is %25, @ is %40, / is %2F)"
	case strings.Contains(msg, "invalid port"):
		return "the port after the host is not a number"
	case strings.Contains(msg, "missing ']'"):
		return "an IPv6 host lacks its closing ']'"
	default:
		return "it is not a valid URL; percent-encode special characters in the user and password"
	}
}

// Sources returns the configured databases, CRM first.
func (c *Config) Sources() []source.Database {
	var out []source.Database
	for _, db := range []source.Database{source.CRM, source.Campaigns} {
		if c.sources[db] != nil {
			out = append(out, db)
		}
	}
	return out
}

// DB returns a configured database, or nil.
func (c *Config) DB(db source.Database) *DB { return c.sources[db] }

// TargetFor returns the revenue target of a fiscal period: the configured one, or for a quarter
// without its own target a quarter of its year's target.
func (c *Config) TargetFor(p fiscal.Period) (money.Cents, bool) {
	if t, ok := c.Revenue[p.Name]; ok {
		return t, true
	}
	if p.Kind == fiscal.Quarter {
		if t, ok := c.Revenue[fmt.Sprintf("FY%d", p.Year)]; ok {
			return money.Cents((int64(t) + 2) / 4), true // to the nearest cent
		}
	}
	return 0, false
}

// Rate returns the conversion rate of a currency into the reporting currency. An empty currency
// is the reporting currency.
func (c *Config) Rate(currency string) (money.Rate, bool) {
	cur := strings.ToUpper(strings.TrimSpace(currency))
	if cur == "" {
		cur = c.Targets.ReportingCurrency
	}
	r, ok := c.Rates[cur]
	return r, ok
}

// Currencies lists the currencies with a rate, sorted.
func (c *Config) Currencies() []string {
	out := make([]string, 0, len(c.Rates))
	for k := range c.Rates {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Secret is a value that must never be printed: a DSN carries a password.
type Secret string

func (Secret) String() string            { return "<secret>" }
func (Secret) LogValue() slog.Value      { return slog.StringValue("<secret>") }
func (Secret) MarshalYAML() (any, error) { return "<secret>", nil }
func (s Secret) GoString() string        { return "<secret>" }

// Reveal returns the secret for the one place that needs it: opening the connection.
func (s Secret) Reveal() string { return string(s) }

// readSmall reads at most 64 KiB: a DSN file is a line, and a mistaken path such as /dev/zero
// must not hang or exhaust memory at start-up.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, err
	}
	if len(b) == 64<<10 {
		return nil, fmt.Errorf("%s is larger than 64 KiB: not a DSN", path)
	}
	return b, nil
}
