package exporter

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/tandem-oss/tandem/tally"
)

// scrapeCache holds the text exposition of each snapshot collector, encoded once per poll of its
// database: the funnel's tens of thousands of series change only when a CRM poll completes, so
// neither a scrape nor a campaign poll should encode them again.
type scrapeCache struct {
	mu    sync.Mutex
	of    []*tally.Snapshot // per snapshot collector, the snapshot its bytes were made from
	bytes [][]byte
}

// Handler serves /metrics in the Prometheus text format: the pre-encoded snapshot families,
// then the live ones (health, build info, Go and process metrics) gathered per scrape.
// Concurrent scrapes are bounded by maxRequests (0: unbounded).
func (e *Exporter) Handler(maxRequests int) http.Handler {
	var sem chan struct{}
	if maxRequests > 0 {
		sem = make(chan struct{}, maxRequests)
	}
	format := textFormat
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sem != nil {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			default:
				http.Error(w, "too many concurrent scrapes", http.StatusServiceUnavailable)
				return
			}
		}
		cached := e.snapshotText()
		w.Header().Set("Content-Type", string(format))
		for _, b := range cached {
			w.Write(b) //nolint:errcheck
		}
		var live bytes.Buffer
		if err := encode(&live, e.liveReg, format); err != nil {
			e.logger.Error("gathering the live metrics", "err", err)
		}
		w.Write(live.Bytes()) //nolint:errcheck
	})
}

var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// warm encodes a new snapshot right after its poll, so that no scrape waits for it.
func (e *Exporter) warm() { e.snapshotText() }

// snapshotText returns the encoded snapshot families, re-encoding them only when a poller has
// published a new snapshot since.
func (e *Exporter) snapshotText() [][]byte {
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	if e.cache.of == nil {
		e.cache.of, e.cache.bytes = make([]*tally.Snapshot, len(e.snapshots)), make([][]byte, len(e.snapshots))
	}
	for i, s := range e.snapshots {
		snap := s.Snapshot()
		if snap == e.cache.of[i] && e.cache.bytes[i] != nil {
			continue
		}
		var buf bytes.Buffer
		s.WriteText(&buf, snap)
		e.cache.of[i], e.cache.bytes[i] = snap, buf.Bytes()
	}
	return append([][]byte(nil), e.cache.bytes...)
}

func encode(buf *bytes.Buffer, g prometheus.Gatherer, format expfmt.Format) error {
	mfs, err := g.Gather()
	enc := expfmt.NewEncoder(buf, format)
	for _, mf := range mfs {
		if e := enc.Encode(mf); e != nil && err == nil {
			err = e
		}
	}
	return err
}
