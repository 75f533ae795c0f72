package exporter

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// scrapeCache holds the text exposition of the snapshot collectors, encoded once per poll: the
// funnel's tens of thousands of series change only when a poll completes, so a scrape should
// not gather, validate, sort and encode them again.
type scrapeCache struct {
	mu    sync.Mutex
	of    [2]*tally.Snapshot // the snapshots the bytes were made from
	bytes []byte
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
		cached, err := e.snapshotText(format)
		if err != nil {
			e.logger.Error("encoding the snapshot metrics", "err", err)
		}
		var live bytes.Buffer
		if err := encode(&live, e.liveReg, format); err != nil {
			e.logger.Error("gathering the live metrics", "err", err)
		}
		w.Header().Set("Content-Type", string(format))
		w.Write(cached)       //nolint:errcheck
		w.Write(live.Bytes()) //nolint:errcheck
	})
}

var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// warm encodes a new snapshot right after its poll, so that no scrape waits for it.
func (e *Exporter) warm() {
	if _, err := e.snapshotText(textFormat); err != nil {
		e.logger.Error("encoding the snapshot metrics", "err", err)
	}
}

// snapshotText returns the encoded snapshot families, re-encoding them only when a poller has
// published a new snapshot since.
func (e *Exporter) snapshotText(format expfmt.Format) ([]byte, error) {
	var current [2]*tally.Snapshot
	for i, db := range []source.Database{source.CRM, source.Campaigns} {
		if p := e.pollers[db]; p != nil {
			current[i], _ = p.Snapshot()
		}
	}
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	if e.cache.bytes != nil && current == e.cache.of {
		return e.cache.bytes, nil
	}
	var buf bytes.Buffer
	if err := encode(&buf, e.snapshotReg, format); err != nil {
		return nil, err
	}
	e.cache.of, e.cache.bytes = current, buf.Bytes()
	return e.cache.bytes, nil
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
