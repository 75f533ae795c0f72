package tally

import (
	"regexp"
	"sort"
	"strings"

	"github.com/tandem-oss/tandem/metrics"
)

// Folder keeps label cardinality bounded. Each label admits at most its cap of distinct values;
// the rest publish as "other". Admission is sticky for the life of the process, so a series never
// moves into "other" and back (which would make counters jump): at start-up the most frequent
// values are admitted, later new values only while room is left. "unknown" (NULL) and "other"
// are always allowed and take no room.
type Folder struct {
	caps     map[string]int
	admitted map[string]map[string]bool
}

// NewFolder creates a Folder with a cap per label name; labels without a cap are not folded.
func NewFolder(caps map[string]int) *Folder {
	return &Folder{caps: caps, admitted: map[string]map[string]bool{}}
}

// Admit considers the values seen in a poll with how often each was seen.
func (f *Folder) Admit(label string, seen map[string]int) {
	limit, capped := f.caps[label]
	if !capped {
		return
	}
	set := f.admitted[label]
	if set == nil {
		set = map[string]bool{}
		f.admitted[label] = set
	}
	var fresh []string
	for v := range seen {
		if !set[v] && v != metrics.ValueUnknown && v != metrics.ValueOther {
			fresh = append(fresh, v)
		}
	}
	// Most frequent first, then by name, so the same data always admits the same values.
	sort.Slice(fresh, func(i, j int) bool {
		if seen[fresh[i]] != seen[fresh[j]] {
			return seen[fresh[i]] > seen[fresh[j]]
		}
		return fresh[i] < fresh[j]
	})
	for _, v := range fresh {
		if len(set) >= limit {
			break
		}
		set[v] = true
	}
}

// Value returns the label value to publish for a raw value.
func (f *Folder) Value(label, v string) string {
	if v == metrics.ValueUnknown || v == metrics.ValueOther {
		return v
	}
	if _, capped := f.caps[label]; !capped {
		return v
	}
	if f.admitted[label][v] {
		return v
	}
	return metrics.ValueOther
}

// clean turns a database value into a label value: trimmed, NULL or empty becomes "unknown", and
// a value that looks like an e-mail address (a form that wrote the visitor's address into a
// free-text source) becomes "other": no personal data in labels.
func clean(v string) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return metrics.ValueUnknown
	case looksLikeEmail(v):
		return metrics.ValueOther
	}
	return v
}

var emailLike = regexp.MustCompile(`[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[A-Za-z]{2,}`)

// looksLikeEmail reports a value that contains an e-mail address.
func looksLikeEmail(v string) bool { return strings.IndexByte(v, '@') >= 0 && emailLike.MatchString(v) }

// seen counts raw label values for admission.
type seen map[string]map[string]int

func (s seen) note(label, v string) { s.counts(label)[v]++ }

// counts is the counts of one label's values, made if none was noted yet: for a caller that
// notes many values of one label (a lead's dimensions, an activity's kind), which looks the
// label up once, not once a value (12M lookups at a million leads' cold start).
func (s seen) counts(label string) map[string]int {
	m := s[label]
	if m == nil {
		m = map[string]int{}
		s[label] = m
	}
	return m
}
