package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"gopkg.in/yaml.v3"

	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/fiscal"
)

// configFiles are where --config.out reads the example configuration and writes tandem.yml.
type configFiles struct{ example, out string }

// writeTargets prints revenue targets that fit the loaded data, for the current fiscal year and
// each of its quarters in the fiscal calendar of the example configuration, and with
// --config.out writes the example configuration with them as its targets.revenue.
func writeTargets(ctx context.Context, crm *sqlx.DB, now time.Time, files configFiles) error {
	var (
		root yaml.Node
		text []byte
		err  error
	)
	cal := demo.Calendar
	if files.out != "" {
		text, err = os.ReadFile(files.example)
		if err != nil {
			return fmt.Errorf("--config.out: reading --config.example: %w", err)
		}
		if err := yaml.Unmarshal(text, &root); err != nil || len(root.Content) == 0 {
			return fmt.Errorf("--config.out: %s is not a YAML configuration: %v", files.example, err)
		}
		if cal, err = calendarOf(&root); err != nil {
			return fmt.Errorf("--config.out: %s: %w", files.example, err)
		}
	}
	targets, err := demo.SuggestedTargets(ctx, crm, now, cal)
	if err != nil {
		return err
	}
	fmt.Printf("# Revenue targets that fit this data, for tandem.yml:\ntargets:\n  currency_rates: {EUR: %q, GBP: %q}\n  revenue:\n%s",
		demo.Rates["EUR"], demo.Rates["GBP"], demo.TargetsYAML(targets))
	if files.out == "" {
		return nil
	}
	written, err := withRevenue(text, demo.TargetsYAML(targets))
	if err != nil {
		return fmt.Errorf("--config.out: %s: %w", files.example, err)
	}
	if err := os.WriteFile(files.out, written, 0o644); err != nil {
		return fmt.Errorf("--config.out: %w", err)
	}
	fmt.Printf("# Written to %s\n", files.out)
	return nil
}

// calendarOf reads targets.timezone and targets.fiscal_year_start_month of a configuration.
func calendarOf(root *yaml.Node) (fiscal.Calendar, error) {
	cal := fiscal.Calendar{StartMonth: time.January, Location: time.UTC}
	t := child(root.Content[0], "targets")
	if t == nil {
		return cal, nil
	}
	if tz := child(t, "timezone"); tz != nil {
		loc, err := time.LoadLocation(tz.Value)
		if err != nil {
			return cal, fmt.Errorf("targets.timezone: %w", err)
		}
		cal.Location = loc
	}
	if m := child(t, "fiscal_year_start_month"); m != nil {
		n, err := strconv.Atoi(m.Value)
		if err != nil || n < 1 || n > 12 {
			return cal, fmt.Errorf("targets.fiscal_year_start_month: must be 1 to 12, not %q", m.Value)
		}
		cal.StartMonth = time.Month(n)
	}
	return cal, nil
}

func child(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// withRevenue replaces the targets.revenue entry of a configuration's text (its line, and the
// lines of a block mapping under it) with block, leaving every other line and comment as
// written.
func withRevenue(text []byte, block string) ([]byte, error) {
	lines := strings.SplitAfter(string(text), "\n")
	var out strings.Builder
	inTargets, done := false, false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if indent == 0 && trimmed != "" && !strings.HasPrefix(trimmed, "#") && trimmed != "\n" {
			inTargets = strings.HasPrefix(trimmed, "targets:")
		}
		if inTargets && !done && indent == 2 && strings.HasPrefix(trimmed, "revenue:") {
			out.WriteString("  revenue:\n" + block)
			for i+1 < len(lines) {
				next := lines[i+1]
				rest := strings.TrimLeft(next, " ")
				if len(next)-len(rest) <= 2 || rest == "\n" || rest == "" {
					break
				}
				i++
			}
			done = true
			continue
		}
		out.WriteString(line)
	}
	if !done {
		return nil, fmt.Errorf("no targets.revenue entry to replace")
	}
	var check yaml.Node
	if err := yaml.Unmarshal([]byte(out.String()), &check); err != nil {
		return nil, fmt.Errorf("the configuration with the new targets does not parse: %w", err)
	}
	return []byte(out.String()), nil
}
