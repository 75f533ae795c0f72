package docs

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tandem-oss/tandem/dashboards"
)

type panelDoc struct {
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	GridPos     struct{ X, Y, W, H int } `json:"gridPos"`
}

type dashboardDoc struct {
	UID, Title, Description string
	Panels                  []panelDoc `json:"panels"`
}

// Dashboards renders docs/dashboards.md: each dashboard's grid drawn from its generated JSON, and
// what each panel answers.
func Dashboards() string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString(`# Dashboards

Generated from Go (` + "`dashboards/`" + `, Grafana Foundation SDK) into ` + "`deploy/grafana/dashboards/`" + ` and provisioned
read-only (` + "`deploy/grafana/provisioning/`" + `), the leadership wall as home dashboard. Every panel's
description states its definition in the common language, taken from the same code the exporter
uses. The drawings below are the panel grids of the generated JSON (24 columns; one line per grid row).

`)
	for _, d := range dashboards.All {
		raw, err := dashboards.Render(d, dashboards.DefaultOptions())
		if err != nil {
			panic(err)
		}
		var dd dashboardDoc
		if err := json.Unmarshal(raw, &dd); err != nil {
			panic(err)
		}
		fmt.Fprintf(&b, "## %s\n\nUID `%s`, file `deploy/grafana/dashboards/%s`. %s\n\n```text\n%s```\n\n| panel | type | what it answers |\n|---|---|---|\n",
			dd.Title, dd.UID, d.File, dd.Description, draw(dd.Panels))
		for _, p := range dd.Panels {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", p.Title, p.Type, strings.ReplaceAll(p.Description, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// draw renders the panel grid with three characters per grid column.
func draw(panels []panelDoc) string {
	const cw = 3
	height := 0
	for _, p := range panels {
		height = max(height, p.GridPos.Y+p.GridPos.H)
	}
	canvas := make([][]rune, height+1)
	for i := range canvas {
		canvas[i] = []rune(strings.Repeat(" ", 24*cw+1))
	}
	for _, p := range panels {
		x0, x1 := p.GridPos.X*cw, (p.GridPos.X+p.GridPos.W)*cw
		y0, y1 := p.GridPos.Y, p.GridPos.Y+p.GridPos.H
		for x := x0; x <= x1; x++ {
			canvas[y0][x], canvas[y1][x] = '-', '-'
		}
		for y := y0; y <= y1; y++ {
			canvas[y][x0], canvas[y][x1] = '|', '|'
		}
		for _, c := range [][2]int{{y0, x0}, {y0, x1}, {y1, x0}, {y1, x1}} {
			canvas[c[0]][c[1]] = '+'
		}
		words := strings.Fields(p.Title)
		line, row := "", y0+1
		width := x1 - x0 - 2
		flush := func() {
			if row < y1 && line != "" {
				copy(canvas[row][x0+2:], []rune(truncate(line, width-1)))
				row++
			}
			line = ""
		}
		for _, w := range words {
			if len([]rune(line))+len([]rune(w))+1 > width-1 && line != "" {
				flush()
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		flush()
	}
	var out strings.Builder
	for _, r := range canvas {
		out.WriteString(strings.TrimRight(string(r), " "))
		out.WriteString("\n")
	}
	return out.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 2 {
		return string(r[:max(n, 0)])
	}
	return string(r[:n-1]) + "…"
}
