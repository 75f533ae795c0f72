package poller

import (
	"github.com/tandem-oss/tandem/tally"
)

// keptDigests is what the tally kept of one query's digests, by lead, for a reconciliation to
// compare with the database's. It is read from the tally's store at each pass (each), not copied:
// a sorted copy took 16 bytes a lead, 80 MB at five million leads for each query reconciled, and
// about twice that while it grew, which made the reconciliation the exporter's peak memory.
type keptDigests struct {
	each func(fn func(keptDigest)) // every kept digest, in no particular order
	n    int                       // how many
	// first and last are the least and the greatest lead id kept (n > 0).
	first, last int64
}

type keptDigest struct {
	id     int64
	n, sum uint32 // sums are compared modulo 2^32 (tally.DigestSum.Same)
}

// newKept reads digests from each (a tally's Digests), keeping those of some rows whose lead
// keep accepts. keep must say the same at every pass: the reconciliation marks a lead dirty only
// as its own digest is compared, after which no pass reads it again.
func newKept(each func(fn func(id int64, d tally.DigestSum)), keep func(id int64) bool) keptDigests {
	k := keptDigests{each: func(fn func(keptDigest)) {
		each(func(id int64, d tally.DigestSum) {
			if d.N > 0 && keep(id) {
				fn(keptDigest{id, uint32(d.N), uint32(d.Sum)})
			}
		})
	}}
	k.each(func(x keptDigest) {
		if k.n == 0 || x.id < k.first {
			k.first = x.id
		}
		if k.n == 0 || x.id > k.last {
			k.last = x.id
		}
		k.n++
	})
	return k
}

func (x keptDigest) digest() tally.DigestSum {
	return tally.DigestSum{N: int64(x.n), Sum: int64(x.sum)}
}
