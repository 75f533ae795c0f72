package quantile

import "slices"

// packed is a sorted multiset of whole seconds (uint32) in about half their four bytes: the low
// 16 bits of every value, in order (lo), and for each high half that occurs, ascending (his),
// where its values start in lo (at). A high half spans 18 hours: a set of follow-up times or
// funnel durations, months of values, has a few hundred at most, and the sets of a million
// leads' quantiles, half of the exporter's live heap in uint32s, take 2 bytes a value and a few
// kilobytes beside.
//
// The buckets are canonical (none empty, his strictly ascending), so two packed sets of the
// same values are equal field by field.
type packed struct {
	lo  []uint16
	his []uint16
	at  []uint32 // at[b]: where his[b]'s values start in lo; they end where b+1's start
}

// pack packs sorted values.
func pack(vals []uint32) packed {
	var p packed
	p.merge(vals)
	return p
}

func (p *packed) len() int { return len(p.lo) }

// end is where bucket b's values end in lo.
func (p *packed) end(b int) int {
	if b+1 < len(p.at) {
		return int(p.at[b+1])
	}
	return len(p.lo)
}

// bucketOf is the bucket that holds index i of lo.
func (p *packed) bucketOf(i int) int {
	lo, hi := 0, len(p.at)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if int(p.at[m]) <= i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// get is the i-th smallest value.
func (p *packed) get(i int) uint32 { return uint32(p.his[p.bucketOf(i)])<<16 | uint32(p.lo[i]) }

// above is the index of the first value greater than u (len if none is).
func (p *packed) above(u uint32) int { return p.from(u, 0, p.len(), false) }

// first is the index of the first value equal to or greater than u.
func (p *packed) first(u uint32) int { return p.from(u, 0, p.len(), true) }

// from is the index of the first value in lo[start:limit] that is greater than u, or equal to it
// as well when equal is set (limit if none is): lo is searched there only, as the buckets place
// it (remove writes below start, merge above limit).
func (p *packed) from(u uint32, start, limit int, equal bool) int {
	h, l := uint16(u>>16), uint16(u)
	b, n := 0, len(p.his)
	for b < n { // the first bucket whose high half is ≥ h
		m := int(uint(b+n) >> 1)
		if p.his[m] < h {
			b = m + 1
		} else {
			n = m
		}
	}
	switch {
	case b == len(p.his):
		return limit
	case p.his[b] > h:
		return min(max(int(p.at[b]), start), limit)
	}
	lo, hi := max(int(p.at[b]), start), min(p.end(b), limit)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.lo[m] > l || equal && p.lo[m] == l {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return min(max(lo, start), limit)
}

// each calls fn with every value in order.
func (p *packed) each(fn func(v uint32)) {
	for b, h := range p.his {
		hi := uint32(h) << 16
		for _, l := range p.lo[p.at[b]:p.end(b)] {
			fn(hi | uint32(l))
		}
	}
}

// appendTo appends every value, in order, to dst.
func (p *packed) appendTo(dst []uint32) []uint32 {
	dst = slices.Grow(dst, p.len())
	p.each(func(v uint32) { dst = append(dst, v) })
	return dst
}

// bucketCount is a high half and how many values have it.
type bucketCount struct {
	hi uint16
	n  uint32
}

// counts returns each bucket's high half and size.
func (p *packed) counts() []bucketCount {
	out := make([]bucketCount, len(p.his))
	for b, h := range p.his {
		out[b] = bucketCount{h, uint32(p.end(b) - int(p.at[b]))}
	}
	return out
}

// countsOf returns the high halves of sorted values and how many have each.
func countsOf(vals []uint32) []bucketCount {
	var out []bucketCount
	for _, v := range vals {
		if h := uint16(v >> 16); len(out) == 0 || out[len(out)-1].hi != h {
			out = append(out, bucketCount{h, 1})
		} else {
			out[len(out)-1].n++
		}
	}
	return out
}

// setBuckets makes the buckets those of counts, in order, leaving out the empty ones.
func (p *packed) setBuckets(counts []bucketCount) {
	p.his, p.at = p.his[:0], p.at[:0]
	var start uint32
	for _, c := range counts {
		if c.n == 0 {
			continue
		}
		p.his = append(p.his, c.hi)
		p.at = append(p.at, start)
		start += c.n
	}
}

// addCounts merges two sorted lists of bucket sizes, adding the sizes of a high half in both.
func addCounts(a, b []bucketCount) []bucketCount {
	out := make([]bucketCount, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0].hi < b[0].hi:
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || b[0].hi < a[0].hi:
			out, b = append(out, b[0]), b[1:]
		default:
			out = append(out, bucketCount{a[0].hi, a[0].n + b[0].n})
			a, b = a[1:], b[1:]
		}
	}
	return out
}

// backward walks sorted values from the greatest down: a packed set's, or a plain slice's
// (vals set), for mergeBack.
type backward struct {
	p    *packed
	vals []uint32
	i    int // the next value's index, -1 past the least
	b    int // its bucket (a packed set's)
}

func (p *packed) backward() backward { return backward{p: p, i: p.len() - 1, b: len(p.his) - 1} }

func backwardOf(vals []uint32) backward { return backward{vals: vals, i: len(vals) - 1} }

func (c *backward) value() uint32 {
	if c.vals != nil {
		return c.vals[c.i]
	}
	for int(c.p.at[c.b]) > c.i {
		c.b--
	}
	return uint32(c.p.his[c.b])<<16 | uint32(c.p.lo[c.i])
}

// grow makes room for m more values in lo, with a sixteenth to spare when it must grow (as
// mergeSorted, and for the same reasons), and returns lo's length before.
func (p *packed) grow(m int) int {
	k, n := p.len(), p.len()+m
	if n > cap(p.lo) {
		grown := make([]uint16, k, n+n/16)
		copy(grown, p.lo)
		p.lo = grown
	}
	p.lo = p.lo[:n]
	return k
}

// insertFew is how few values added to a set are each put in place by a binary search and a
// copy of the values above it, instead of by a merge that compares every value above the least
// added: a steady poll adds a few values to sets of up to a million.
func insertFew(added, held int) bool { return added*64 < held }

// merge merges the sorted values added in.
func (p *packed) merge(added []uint32) {
	if len(added) == 0 {
		return
	}
	counts := addCounts(p.counts(), countsOf(added))
	if !insertFew(len(added), p.len()) {
		p.mergeBack(counts, backwardOf(added))
		return
	}
	// From the greatest down, each where it goes among the values not moved yet (lo[:hi]),
	// those above it moved up by as many as are still to insert: each value moves once, by copy.
	hi := p.grow(len(added))
	for b := len(added) - 1; b >= 0; b-- {
		i := p.from(added[b], 0, hi, false)
		copy(p.lo[i+b+1:], p.lo[i:hi])
		p.lo[i+b] = uint16(added[b])
		hi = i
	}
	p.setBuckets(counts)
}

// mergePacked merges the values of o in.
func (p *packed) mergePacked(o *packed) {
	switch {
	case o.len() == 0:
	case insertFew(o.len(), p.len()):
		p.merge(o.appendTo(nil))
	default:
		p.mergeBack(addCounts(p.counts(), o.counts()), o.backward())
	}
}

// mergeBack merges the values add walks in by comparing every value above the least of them,
// from the back, and makes the buckets those of counts (the merged set's).
func (p *packed) mergeBack(counts []bucketCount, add backward) {
	old := p.backward()
	p.grow(add.i + 1)
	for w := p.len() - 1; add.i >= 0; w-- {
		// lo[w] is written past old.i (w - old.i is how many values are left to add): the
		// old values and buckets that old still reads are not written over.
		v := add.value()
		if old.i >= 0 && old.value() > v {
			p.lo[w] = p.lo[old.i]
			old.i--
		} else {
			p.lo[w] = uint16(v)
			add.i--
		}
	}
	p.setBuckets(counts)
}

// remove takes the values of o out (each as often as o holds it), in place: each found by
// binary search from the last, the values between moved down by copy (as remove, which says
// why). It panics if o holds a value more often than p.
func (p *packed) remove(o *packed) {
	if o.len() == 0 {
		return
	}
	counts := p.counts()
	w, r := 0, 0 // lo[:w] kept; lo[r:] still to read, as the buckets (at) still place it
	b := 0       // the bucket of r's value, at most
	o.each(func(x uint32) {
		i := p.from(x, r, p.len(), true)
		if i >= p.len() || p.get(i) != x {
			panic("quantile: a value removed that was never added")
		}
		for b+1 < len(p.at) && int(p.at[b+1]) <= i {
			b++
		}
		counts[b].n--
		w += copy(p.lo[w:], p.lo[r:i])
		r = i + 1
	})
	w += copy(p.lo[w:], p.lo[r:])
	p.lo = p.lo[:w]
	p.setBuckets(counts)
}

// deleteN takes n repeats of v out.
func (p *packed) deleteN(v uint32, n int) {
	i := p.first(v)
	if j := i + n - 1; j >= p.len() || p.get(i) != v || p.get(j) != v {
		panic("quantile: a value removed that was never added")
	}
	counts := p.counts()
	counts[p.bucketOf(i)].n -= uint32(n)
	p.lo = slices.Delete(p.lo, i, i+n)
	p.setBuckets(counts)
}

func (p *packed) equal(o *packed) bool {
	return slices.Equal(p.lo, o.lo) && slices.Equal(p.his, o.his) && slices.Equal(p.at, o.at)
}

func (p *packed) clone() packed {
	return packed{lo: slices.Clone(p.lo), his: slices.Clone(p.his), at: slices.Clone(p.at)}
}

// bytes is the memory the set holds.
func (p *packed) bytes() int { return 2*cap(p.lo) + 2*cap(p.his) + 4*cap(p.at) }
