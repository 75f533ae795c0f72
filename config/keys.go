package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var durationType = reflect.TypeOf(time.Duration(0))

// checkKeys walks the YAML tree along the Config type before decoding, so that an unknown key or
// a duration that does not parse is reported by its path in the file (databases.crm.pol_interval,
// with the key it probably meant), not by the Go type the decoder was filling.
func checkKeys(file string, root *yaml.Node) error {
	if root == nil || len(root.Content) == 0 {
		return nil
	}
	var errs []string
	walkKeys(root.Content[0], reflect.TypeOf(Config{}), "", func(line int, path, msg string) {
		errs = append(errs, fmt.Sprintf("%s:%d: %s: %s", file, line, path, msg))
	})
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(errs, "\n"))
}

func walkKeys(n *yaml.Node, t reflect.Type, path string, fail func(line int, path, msg string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch {
	case t == durationType:
		if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			if _, err := time.ParseDuration(n.Value); err != nil {
				fail(n.Line, path, fmt.Sprintf("%q is not a duration (write it like 90s, 30m, 1h or 1h30m)", n.Value))
			}
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ft, ok := fields[k]
			if !ok {
				fail(n.Content[i].Line, join(k), "unknown key"+suggest(k, fields))
				continue
			}
			walkKeys(n.Content[i+1], ft, join(k), fail)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkKeys(n.Content[i+1], t.Elem(), join(n.Content[i].Value), fail)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			walkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), fail)
		}
	}
}

// suggest names the known keys closest to a misspelt one.
func suggest(k string, fields map[string]reflect.Type) string {
	best, bestD := "", 3 // at most two edits away
	var names []string
	for name := range fields {
		names = append(names, name)
		if d := editDistance(k, name); d < bestD {
			best, bestD = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	sort.Strings(names)
	return fmt.Sprintf(" (known here: %s)", strings.Join(names, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
