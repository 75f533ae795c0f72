// Command tandem-exporter polls the CRM and campaign databases on a schedule and publishes the
// sales and marketing funnel as Prometheus metrics.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"gopkg.in/yaml.v3"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/internal/gcpercent"
	"github.com/tandem-oss/tandem/internal/heaplimit"
)

func main() { os.Exit(mainCode()) }

// mainCode is main with its deferred clean-ups run before the process exits.
func mainCode() int {
	var (
		configFile    = kingpin.Flag("config.file", "Path to the configuration file (tandem.yml).").Default("tandem.yml").String()
		configCheck   = kingpin.Flag("config.check", "Validate the configuration and every query against its database, then exit.").Bool()
		metricsPath   = kingpin.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		maxRequests   = kingpin.Flag("web.max-requests", "Maximum number of parallel scrape requests; 0 disables the limit.").Default("40").Int()
		demoMode      = kingpin.Flag("demo", "Run on an embedded SQLite database seeded with demo data and live simulated traffic; no configuration or PostgreSQL needed.").Bool()
		demoLeads     = kingpin.Flag("demo.leads", "Leads to generate in --demo mode.").Default("5000").Int()
		demoDir       = kingpin.Flag("demo.dir", "Directory for the --demo database, kept on exit; a temporary one, removed on exit, if empty.").String()
		demoNow       = kingpin.Flag("demo.now", "Run the --demo at this instant (RFC 3339), such as the last minute of a quarter: its data, traffic and the exporter's clock start there. Now if empty.").String()
		healthcheck   = kingpin.Flag("healthcheck", "Check that an exporter on --web.listen-address answers /-/healthy, then exit 0 or 1 (for container HEALTHCHECKs: the image has no shell or curl). Speaks HTTPS when --web.config.file sets tls_server_config.").Bool()
		hcUser        = kingpin.Flag("healthcheck.username", "User for --healthcheck when --web.config.file sets basic_auth_users.").String()
		hcPassFile    = kingpin.Flag("healthcheck.password-file", "File holding the password of --healthcheck.username.").String()
		autoMemLimit  = kingpin.Flag("auto-gomemlimit", "Set GOMEMLIMIT to --auto-gomemlimit.ratio of the container's memory limit (cgroup), so the garbage collector works to stay under it instead of the process being OOM-killed; the GOMEMLIMIT environment variable, when set, wins. Either limit is one on the whole process: the runtime is given it less what the stores hold outside the heap (tandem_exporter_mapped_bytes). No effect outside a memory-limited cgroup.").Default("true").Bool()
		memLimitRatio = kingpin.Flag("auto-gomemlimit.ratio", "Share of the container's memory limit to give the Go runtime (0 < ratio <= 1); the rest is headroom for what neither counts (the binary's pages, thread stacks).").Default("0.9").Float64()
		gcPercent     = kingpin.Flag("runtime.gogc", "Garbage collection percentage (GOGC): how far the heap may grow past what the last collection found live. The exporter's stores are outside the heap, so a low value costs little CPU and keeps the cold start's peak memory near the live one; the GOGC environment variable, when set, wins.").Default(strconv.Itoa(gcpercent.Default)).Int()
		webFlags      = kingpinflag.AddFlags(kingpin.CommandLine, ":9866")
		// Serving is the default command: the flags above work without naming it.
		_           = kingpin.Command("serve", "Poll the databases and serve /metrics (the default).").Default()
		backfillCmd = kingpin.Command("backfill", "Write the event-time series' history, as scrapes at past instants would have seen it on the rows the databases hold now, as OpenMetrics for promtool tsdb create-blocks-from openmetrics.")
		bfFlags     = addBackfillFlags(backfillCmd)
	)
	logConfig := &promslog.Config{}
	flag.AddFlags(kingpin.CommandLine, logConfig)
	kingpin.Version(version.Print("tandem-exporter"))
	kingpin.HelpFlag.Short('h')
	command := kingpin.Parse()
	logger := promslog.New(logConfig)
	if command == backfillCmd.FullCommand() && (*demoMode || *configCheck) {
		logger.Error("backfill runs on the databases of --config.file, without --demo or --config.check")
		return 1
	}
	if *memLimitRatio <= 0 || *memLimitRatio > 1 {
		logger.Error("invalid flag", "flag", "--auto-gomemlimit.ratio", "err", fmt.Sprintf("%v is not in (0, 1]", *memLimitRatio))
		return 1
	}
	if *gcPercent <= 0 {
		logger.Error("invalid flag", "flag", "--runtime.gogc", "err", fmt.Sprintf("%d is not positive", *gcPercent))
		return 1
	}
	if *healthcheck { // a probe: none of the runtime settings below are for it
		return checkHealth(healthProbe{addr: (*webFlags.WebListenAddresses)[0], webConfig: *webFlags.WebConfigFile, user: *hcUser, passwordFile: *hcPassFile})
	}
	percent, fromEnv := gcpercent.Set(*gcPercent)
	logger.Debug("garbage collection percentage", "gogc", percent, "from_environment", fromEnv)
	if *autoMemLimit {
		setMemLimit(logger, *memLimitRatio)
	}
	if total := heaplimit.Follow(); total > 0 {
		// The runtime does not count the stores' mapped blocks: it gets the limit less them.
		logger.Debug("the Go runtime's memory limit follows the stores' mapped memory", "total_bytes", total)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var (
		cfg   *config.Config
		err   error
		clock = time.Now
	)
	if *demoMode {
		var start time.Time
		if *demoNow != "" {
			if start, err = time.Parse(time.RFC3339, *demoNow); err != nil {
				logger.Error("invalid flag", "flag", "--demo.now", "err", err)
				return 1
			}
		}
		d, err := startDemo(ctx, logger, *demoDir, *demoLeads, start)
		if err != nil {
			logger.Error("starting the demo", "err", err)
			return 1
		}
		defer d.Close()
		cfg, clock = d.cfg, d.clock
		// What to open: the exporter itself, and the full stack's screens when it runs.
		for _, a := range *webFlags.WebListenAddresses {
			host := a
			if strings.HasPrefix(a, ":") {
				host = "localhost" + a
			}
			fmt.Fprintf(os.Stderr, "Tandem demo: open http://%s/ (landing page) and http://%s%s (metrics).\n"+
				"The wall and the team dashboards need Prometheus and Grafana: docker compose up, then http://localhost:3000.\n", host, host, *metricsPath)
		}
	} else if cfg, err = config.Load(*configFile, os.Getenv); err != nil {
		logLines(logger, "invalid configuration", err)
		return 1
	}
	if command == backfillCmd.FullCommand() {
		if err := runBackfill(ctx, cfg, logger, bfFlags); err != nil {
			logLines(logger, "backfill", err)
			return 1
		}
		return 0
	}
	if err := run(ctx, cfg, clock, logger, *configCheck, *metricsPath, *maxRequests, webFlags); err != nil {
		logLines(logger, "exiting", err)
		return 1
	}
	return 0
}

// setMemLimit gives the Go runtime a soft memory limit under the container's, as Prometheus does
// (--auto-gomemlimit): the heap of a cold start or a reconciliation then triggers collections
// near the limit rather than an OOM kill at twice the live heap (GOGC's default headroom).
func setMemLimit(logger *slog.Logger, ratio float64) {
	limit, err := memlimit.Set(memlimit.WithRatio(ratio), memlimit.WithProvider(memlimit.FromCgroup))
	switch {
	case errors.Is(err, memlimit.ErrCgroupsNotSupported), errors.Is(err, memlimit.ErrNoCgroup):
		logger.Debug("not in a memory cgroup: GOMEMLIMIT left as it is", "err", err)
	case err != nil:
		logger.Warn("could not set GOMEMLIMIT from the container's memory limit", "err", err)
	case limit > 0 && limit < math.MaxInt64:
		logger.Info("GOMEMLIMIT set", "bytes", limit, "ratio", ratio, "from", gomemlimitSource())
	}
}

// gomemlimitSource says where the limit came from: the environment wins over the cgroup.
func gomemlimitSource() string {
	if os.Getenv("GOMEMLIMIT") != "" {
		return "GOMEMLIMIT environment variable"
	}
	return "container memory limit"
}

func run(ctx context.Context, cfg *config.Config, clock func() time.Time, logger *slog.Logger, check bool, metricsPath string, maxRequests int, webFlags *web.FlagConfig) error {
	exp, err := exporter.New(cfg, logger, clock)
	if err != nil {
		return err
	}
	defer exp.Close()
	if check {
		if err := exp.Check(ctx); err != nil {
			return err
		}
		fmt.Println("configuration and queries OK")
		return nil
	}

	// HTTP serves before any database answers: /-/healthy and the exporter's own health metrics
	// (tandem_up 0) are what shows a database that hangs at start-up.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logger.Info("starting tandem-exporter", "version", version.Info(), "build_context", version.BuildContext())

	mux := http.NewServeMux()
	mux.Handle(metricsPath, exp.Handler(maxRequests))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	if metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "Tandem exporter",
			Description: "Sales and marketing funnel metrics from the CRM and campaign databases",
			Version:     version.Info(),
			Links:       []web.LandingLinks{{Address: metricsPath, Text: "Metrics"}, {Address: "/-/healthy", Text: "Health"}},
			// No pprof handlers are served (profiles of a process holding CRM data are not for
			// anyone who can reach /metrics), so the page must not link to them.
			Profiling: "false",
		})
		if err != nil {
			return err
		}
		mux.Handle("/", landing)
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(server, webFlags, logger) }()
	fatal := exp.Run(ctx)

	select {
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	case err = <-fatal: // a query the database refused at start-up
	case <-ctx.Done():
		logger.Info("shutting down")
	}
	cancel() // stops the pollers and aborts every database connection
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := server.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutdown", "err", err)
	}
	waitAtMost(exp.Wait, 5*time.Second, logger)
	return err
}

// waitAtMost runs wait, giving up after d: shutdown must end within seconds whatever a database
// does (its connections are aborted, so this is a last resort).
func waitAtMost(wait func(), d time.Duration, logger *slog.Logger) {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		logger.Warn("pollers did not stop in time; exiting anyway", "waited", d)
	}
}

// logLines logs an error of several lines (every configuration problem found at once) as one
// record per line: logfmt would otherwise print them joined by a literal "\n".
func logLines(logger *slog.Logger, msg string, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			logger.Error(msg, "err", line)
		}
	}
}

// healthProbe is how --healthcheck reaches the exporter: the same address and web config as the
// server, so the check works with TLS and basic auth switched on.
type healthProbe struct {
	addr, webConfig, user, passwordFile string
}

// checkHealth asks a running exporter whether it is healthy; 0 if it is.
func checkHealth(p healthProbe) int {
	if err := p.check(); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	return 0
}

func (p healthProbe) check() error {
	host, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme, transport := "http", &http.Transport{}
	if p.webConfig != "" {
		certFile, err := tlsCertFile(p.webConfig)
		if err != nil {
			return err
		}
		if certFile != "" {
			pemBytes, err := os.ReadFile(certFile)
			if err != nil {
				return err
			}
			block, _ := pem.Decode(pemBytes)
			if block == nil {
				return fmt.Errorf("%s holds no certificate", certFile)
			}
			// The probe talks to its own process on a loopback address the certificate need not
			// name: it trusts exactly the certificate the server is configured to present.
			scheme = "https"
			transport.TLSClientConfig = &tls.Config{
				MinVersion:         tls.VersionTLS12,
				InsecureSkipVerify: true, //nolint:gosec // replaced by the pinning below
				VerifyConnection: func(cs tls.ConnectionState) error {
					if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, block.Bytes) {
						return fmt.Errorf("the server's certificate is not the one in %s", certFile)
					}
					return nil
				},
			}
		}
	}
	req, err := http.NewRequest(http.MethodGet, scheme+"://"+net.JoinHostPort(host, port)+"/-/healthy", nil)
	if err != nil {
		return err
	}
	if p.user != "" {
		pass, err := os.ReadFile(p.passwordFile)
		if err != nil {
			return fmt.Errorf("--healthcheck.password-file: %w", err)
		}
		req.SetBasicAuth(p.user, strings.TrimRight(string(pass), "\r\n"))
	}
	resp, err := (&http.Client{Timeout: 3 * time.Second, Transport: transport}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/-/healthy answered %s", resp.Status)
	}
	return nil
}

// tlsCertFile reads the server certificate's path from an exporter-toolkit web config ("" when
// TLS is off), resolved as the toolkit resolves it: relative to the config file.
func tlsCertFile(webConfig string) (string, error) {
	b, err := os.ReadFile(webConfig)
	if err != nil {
		return "", err
	}
	var c struct {
		TLS *struct {
			CertFile string `yaml:"cert_file"`
		} `yaml:"tls_server_config"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("%s: %w", webConfig, err)
	}
	if c.TLS == nil || c.TLS.CertFile == "" {
		return "", nil
	}
	if filepath.IsAbs(c.TLS.CertFile) {
		return c.TLS.CertFile, nil
	}
	return filepath.Join(filepath.Dir(webConfig), c.TLS.CertFile), nil
}
