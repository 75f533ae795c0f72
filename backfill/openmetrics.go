package backfill

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/tally"
)

// Backfilled reports whether a family is backfilled: the event-time business series, whose value
// at a past instant follows from the rows' timestamps. Values of now (open pipeline by stage,
// leads waiting, the status mix) depend on states the CRM does not keep a history of, and the
// exporter's own health never happened in the past.
func Backfilled(d metrics.Def) bool { return d.Event != "" }

// Families is the catalogue's backfilled families, in catalogue order.
func Families() []metrics.Def {
	var out []metrics.Def
	for _, d := range append(append([]metrics.Def{}, metrics.CRM...), metrics.Campaign...) {
		if Backfilled(d) {
			out = append(out, d)
		}
	}
	return out
}

// writer spools each family's samples to a file of its own while the instants are computed
// (OpenMetrics wants a family's samples together, and memory must not grow with the range),
// then writes them one family after the other.
type writer struct {
	defs   []metrics.Def
	labels [][]string // per def: its label names, then the target labels
	target []string   // the target labels' values
	files  []*os.File
	bufs   []*bufio.Writer
	// prefixes holds, per def, each series' formatted name and labels (bounded by the label caps).
	prefixes []map[string][]byte
	dir      string
	num      []byte
	// Samples counts the samples written.
	Samples int64
}

func newWriter(defs []metrics.Def, dims metrics.Dimensions, target [][2]string, dir string) (*writer, error) {
	w := &writer{defs: defs}
	tmp, err := os.MkdirTemp(dir, "tandem-backfill-")
	if err != nil {
		return nil, err
	}
	w.dir = tmp
	for i, d := range defs {
		names := d.LabelNames(dims)
		for _, kv := range target {
			names = append(names, kv[0])
		}
		w.labels = append(w.labels, names)
		f, err := os.Create(fmt.Sprintf("%s/%03d", tmp, i))
		if err != nil {
			w.close()
			return nil, err
		}
		w.files = append(w.files, f)
		w.bufs = append(w.bufs, bufio.NewWriterSize(f, 64<<10))
		w.prefixes = append(w.prefixes, map[string][]byte{})
	}
	for _, kv := range target {
		w.target = append(w.target, kv[1])
	}
	return w, nil
}

// add writes one instant's snapshot. Series order within a family does not matter to promtool
// (each series' samples come in time order, instant after instant); a series' name and labels
// are formatted once and reused at every instant it appears in.
func (w *writer) add(s *tally.Snapshot, at time.Time) error {
	if s == nil {
		return nil
	}
	ts := " " + strconv.FormatInt(at.Unix(), 10) + "\n"
	for i, d := range w.defs {
		f := s.Families[d.Name]
		if f == nil {
			continue
		}
		b, prefixes := w.bufs[i], w.prefixes[i]
		for k, smp := range f.Series {
			p, ok := prefixes[k]
			if !ok {
				p = w.prefix(i, d, smp.Labels)
				prefixes[k] = p
			}
			b.Write(p)
			b.Write(w.value(smp.Value(d)))
			b.WriteString(ts)
			w.Samples++
		}
	}
	return nil
}

// prefix is a series' `name{labels} `, target labels included.
func (w *writer) prefix(i int, d metrics.Def, labels []string) []byte {
	var b strings.Builder
	b.WriteString(d.Name)
	b.WriteByte('{')
	vals := append(append([]string{}, labels...), w.target...)
	for k, name := range w.labels[i] {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(escape(vals[k]))
		b.WriteByte('"')
	}
	b.WriteString("} ")
	return []byte(b.String())
}

func (w *writer) value(f float64) []byte {
	switch {
	case math.IsNaN(f):
		return []byte("NaN")
	case math.IsInf(f, 1):
		return []byte("+Inf")
	case math.IsInf(f, -1):
		return []byte("-Inf")
	}
	w.num = strconv.AppendFloat(w.num[:0], f, 'g', -1, 64)
	return w.num
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return escaper.Replace(v)
}

// finish writes every family to out, each with its HELP and TYPE, then # EOF.
func (w *writer) finish(out io.Writer) error {
	defer w.close()
	for i, d := range w.defs {
		if err := w.bufs[i].Flush(); err != nil {
			return err
		}
		if _, err := w.files[i].Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", d.Name, escaper.Replace(d.Help), d.Name); err != nil {
			return err
		}
		if _, err := io.Copy(out, w.files[i]); err != nil {
			return err
		}
	}
	_, err := io.WriteString(out, "# EOF\n")
	return err
}

func (w *writer) close() {
	for _, f := range w.files {
		f.Close()
	}
	os.RemoveAll(w.dir)
}

// sortedTarget returns target labels in name order.
func sortedTarget(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}
