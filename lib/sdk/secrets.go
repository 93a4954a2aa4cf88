package sdk

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// SecretMask is the text that replaces every registered secret.
const SecretMask = "<secret>"

// Secrets is the set of values registered with secret() (engine.md §16).
// The zero value is an empty set ready to use; a nil *Secrets masks
// nothing. It is safe for concurrent use.
type Secrets struct {
	mu     sync.RWMutex
	values []string // longest first
}

// Add registers v. Empty values and values already known are ignored.
func (s *Secrets) Add(v string) {
	if s == nil || v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.values, v) {
		return
	}
	// Copy on write: Mask reads the slice without holding the lock.
	values := append(slices.Clone(s.values), v)
	slices.SortStableFunc(values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	s.values = values
}

// Mask returns text with each registered value replaced by "<secret>".
// Values are looked for longest first in the original text, so a value
// containing another one is masked as a whole, and the replacement text is
// never masked again. Occurrences that overlap (of one value or of several)
// are masked together as one "<secret>", so no part of any of them shows.
func (s *Secrets) Mask(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	values := s.values
	s.mu.RUnlock()
	if len(values) == 0 {
		return text
	}
	var spans [][2]int
	for _, v := range values {
		for i := 0; i < len(text); {
			j := strings.Index(text[i:], v)
			if j < 0 {
				break
			}
			start := i + j
			spans = append(spans, [2]int{start, start + len(v)})
			i = start + 1
		}
	}
	if len(spans) == 0 {
		return text
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	var out strings.Builder
	out.Grow(len(text))
	last := 0
	for k := 0; k < len(spans); {
		start, end := spans[k][0], spans[k][1]
		k++
		for k < len(spans) && spans[k][0] < end {
			end = max(end, spans[k][1])
			k++
		}
		out.WriteString(text[last:start])
		out.WriteString(SecretMask)
		last = end
	}
	out.WriteString(text[last:])
	return out.String()
}

// Len returns the number of registered values.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.values)
}
