package sdk

import (
	"bytes"
	"cmp"
	"io"
	"slices"
	"strings"
	"sync"
)

// SecretMask is the text that replaces every registered secret.
const SecretMask = "<secret>"

// Secrets is the set of values registered with secret() (docs/engine.md §16).
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

// AddCredentials registers the values of the credential variables (see
// IsCredential) set in environ ("KEY=value" entries).
func (s *Secrets) AddCredentials(environ []string) {
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); IsCredential(k) {
			s.Add(v)
		}
	}
}

// snapshot returns the registered values, longest first.
func (s *Secrets) snapshot() []string {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.values
}

// Mask returns text with each registered value replaced by "<secret>".
// Values are looked for longest first in the original text, so a value
// containing another one is masked as a whole, and the replacement text is
// never masked again. Occurrences that overlap (of one value or of several)
// are masked together as one "<secret>", so no part of any of them shows.
func (s *Secrets) Mask(text string) string {
	values := s.snapshot()
	if len(values) == 0 || text == "" {
		return text
	}
	runs := maskedRuns(text, values)
	if len(runs) == 0 {
		return text
	}
	var out strings.Builder
	out.Grow(len(text))
	writeMasked(&out, text, runs, 0, len(text), false)
	return out.String()
}

// maskedRuns returns the byte ranges of text covered by occurrences of
// values, overlapping occurrences merged, in order.
func maskedRuns(text string, values []string) [][2]int {
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
		return nil
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	runs := spans[:1]
	for _, sp := range spans[1:] {
		last := &runs[len(runs)-1]
		if sp[0] < last[1] {
			last[1] = max(last[1], sp[1])
		} else {
			runs = append(runs, sp)
		}
	}
	return runs
}

// writeMasked writes text[from:to] to w with the parts covered by runs
// replaced by "<secret>". A run that began before from continues a mask
// already written when continued is true, and is not written again.
func writeMasked(w io.StringWriter, text string, runs [][2]int, from, to int, continued bool) {
	pos := from
	for _, r := range runs {
		if r[1] <= from || r[0] >= to {
			continue
		}
		if r[0] > pos {
			w.WriteString(text[pos:r[0]])
		}
		if r[0] >= from || !continued {
			w.WriteString(SecretMask)
		}
		pos = min(r[1], to)
	}
	if pos < to {
		w.WriteString(text[pos:to])
	}
}

// Len returns the number of registered values.
func (s *Secrets) Len() int {
	return len(s.snapshot())
}

// MaskWriter masks the registered secrets in a stream written to it in
// pieces and writes the result to W: a secret split across writes, or
// across lines, is masked as a whole, as Mask would on the whole stream.
// It holds back the last bytes written (fewer than the longest secret)
// until more arrive or Flush is called. A secret registered while the
// stream runs is masked from then on.
type MaskWriter struct {
	Secrets *Secrets
	W       io.Writer

	context []byte // last bytes already written out, unmasked: where a secret may have begun
	pending []byte // bytes not written out yet
	inMask  bool   // the last byte written out was masked
	out     bytes.Buffer
}

// Write masks p and writes out what can no longer be part of a secret.
func (m *MaskWriter) Write(p []byte) (int, error) {
	if err := m.emit(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes out the bytes held back.
func (m *MaskWriter) Flush() error { return m.emit(nil, true) }

func (m *MaskWriter) emit(p []byte, all bool) error {
	values := m.Secrets.snapshot()
	longest := 0
	if len(values) > 0 {
		longest = len(values[0])
	}
	buf := make([]byte, 0, len(m.context)+len(m.pending)+len(p))
	buf = append(append(append(buf, m.context...), m.pending...), p...)
	from, to := len(m.context), len(buf)
	if !all {
		// An occurrence starting before to ends inside buf: it is found.
		to = len(buf) - max(longest-1, 0)
	}
	if to <= from {
		m.pending = append(m.pending, p...)
		return nil
	}
	text := string(buf)
	runs := maskedRuns(text, values)
	m.out.Reset()
	writeMasked(&m.out, text, runs, from, to, m.inMask)
	m.inMask = false
	for _, r := range runs {
		m.inMask = m.inMask || r[0] < to && r[1] >= to
	}
	keep := max(longest-1, 0)
	m.context = append(m.context[:0], buf[max(to-keep, 0):to]...)
	m.pending = append(m.pending[:0], buf[to:]...)
	if all {
		m.context, m.inMask = m.context[:0], false
	}
	_, err := m.W.Write(m.out.Bytes())
	return err
}
