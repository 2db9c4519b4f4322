package config

import (
	"reflect"
	"strings"
	"sync"
)

// knownKeys lists every key the agent reads, dotted and without indices
// ("component.ab.slots"), from the toml tags of Config.
var knownKeys = sync.OnceValue(func() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeFor[Duration]() || t == reflect.TypeFor[Window]() {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("toml")
			if tag == "" || tag == "-" {
				continue
			}
			key := prefix + tag
			out = append(out, key)
			walk(f.Type, key+".")
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
})

// suggest returns the known key closest to an unknown one, or "" when none
// is close enough to be a likely typo.
func suggest(unknown string) string {
	best, bestD := "", 3
	for _, k := range knownKeys() {
		if d := distance(strings.ToLower(unknown), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	if len(a) > 200 || len(b) > 200 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
