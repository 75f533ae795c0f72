package poller

import (
	"cmp"
	"slices"

	"github.com/tandem-oss/tandem/tally"
)

// keptDigests is what the tally kept of one query's digests, by lead, in id order, for a
// reconciliation to compare with the database's: 16 bytes a lead, where a map of a million
// leads' sums, and the copy the comparison made of it, held about 80 MB at once.
type keptDigests []keptDigest

type keptDigest struct {
	id     int64
	n, sum uint32 // sums are compared modulo 2^32 (tally.DigestSum.Same)
}

// newKept gathers digests from each (a tally's Digests), keeping those of some rows whose lead
// keep accepts, in id order.
func newKept(each func(fn func(id int64, d tally.DigestSum)), keep func(id int64) bool) keptDigests {
	var k keptDigests
	each(func(id int64, d tally.DigestSum) {
		if d.N > 0 && keep(id) {
			k = append(k, keptDigest{id, uint32(d.N), uint32(d.Sum)})
		}
	})
	slices.SortFunc(k, func(a, b keptDigest) int { return cmp.Compare(a.id, b.id) })
	return slices.Clip(k)
}

func (x keptDigest) digest() tally.DigestSum {
	return tally.DigestSum{N: int64(x.n), Sum: int64(x.sum)}
}

// has reports whether the tally kept a digest of the lead.
func (k keptDigests) has(id int64) bool {
	_, ok := slices.BinarySearchFunc(k, id, func(x keptDigest, id int64) int { return cmp.Compare(x.id, id) })
	return ok
}
