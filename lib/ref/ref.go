package ref

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// Marker is the release marker of a ref: none, '@' (state) or '+' (intent).
type Marker byte

// Markers.
const (
	NoMarker Marker = 0
	State    Marker = '@'
	Intent   Marker = '+'
)

// Subpath types (docs/refs.md §1). Types are case-sensitive.
const (
	TypeCall        = "call"
	TypeCommit      = "commit"
	TypeCustom      = "custom"
	TypeDeploy      = "deploy"
	TypeEnvironment = "environment"
	TypeTask        = "task"
)

// Length limits (docs/refs.md §2).
const (
	// MaxLen is the maximum length in bytes of a whole ref, fragment included.
	MaxLen = 4000
	// MaxSegmentLen is the maximum length in bytes of one '/'-separated segment.
	MaxSegmentLen = 255
)

// Ref is the parsed model of a ref (docs/refs.md §1). The zero Ref is the empty
// ref. Refs produced by Parse are canonical, so two Refs name the same
// document and field exactly when they are equal (==).
type Ref struct {
	Repo     string // "" = not given, "." = this repo
	File     string // package path, "." = this package, may be empty
	Global   bool   // starts with a marker: no repo, no file
	Marker   Marker // NoMarker, State or Intent
	Release  string // text after the marker (docs/refs.md calls it the value); "" = current / package level
	Type     string // one of the Type constants, or ""
	Subpath  string // '/'-separated, non-empty when Type is set
	Fragment string // '/'-separated, "" = whole document
}

// String returns the canonical form of r (docs/refs.md §4), "#fragment" included
// when set. The zero Ref prints as "".
func (r Ref) String() string {
	if r.IsZero() {
		return ""
	}
	var b strings.Builder
	b.Grow(r.printedLen())
	r.write(&b)
	return b.String()
}

// printedLen returns about the length of the canonical form, to size buffers.
func (r Ref) printedLen() int {
	n := 0
	add := func(s string) {
		if s != "" {
			n += len(s) + 1
		}
	}
	if !r.Global {
		if r.Repo != "" {
			n += len(r.Repo) + 3
		}
		add(r.File)
	}
	if r.Marker != NoMarker {
		n += len(r.Release) + 2
	}
	if r.Type != "" {
		n += len(r.Type) + len(r.Subpath) + 2
	}
	add(r.Fragment)
	return n
}

func (r Ref) write(b *strings.Builder) {
	sep := false // a segment has been written: the next one needs a '/'
	seg := func(s string) {
		if sep {
			b.WriteByte('/')
		}
		b.WriteString(s)
		sep = true
	}
	if !r.Global {
		if r.Repo != "" {
			seg(r.Repo)
			seg("-")
		}
		if r.File != "" {
			seg(r.File)
		}
	}
	if r.Marker != NoMarker {
		if sep {
			b.WriteByte('/')
		}
		b.WriteByte(byte(r.Marker))
		b.WriteString(r.Release)
		sep = true
	}
	if r.Type != "" {
		seg(r.Type)
		if r.Subpath != "" {
			seg(r.Subpath)
		}
	}
	if !r.Global && r.Repo != "" && r.File == "" && r.Marker == NoMarker && r.Type == "" {
		b.WriteByte('/')
	}
	if r.Fragment != "" {
		b.WriteByte('#')
		b.WriteString(r.Fragment)
	}
}

// Doc returns r without its fragment: the ref of the whole document.
func (r Ref) Doc() Ref {
	r.Fragment = ""
	return r
}

// IsZero reports whether r is the empty ref.
func (r Ref) IsZero() bool {
	return r == Ref{}
}

// IsRelative reports whether r must be resolved against a base before use
// (docs/refs.md §6): it is not global and its repo is empty or ".", or its file is
// ".". The empty ref is not relative.
func (r Ref) IsRelative() bool {
	if r.Global || r.IsZero() {
		return false
	}
	return r.Repo == "" || r.Repo == "." || r.File == "."
}

// Twin returns r with the marker swapped, '@' for '+' and back (docs/refs.md §7).
// A ref without marker is returned unchanged.
func (r Ref) Twin() Ref {
	switch r.Marker {
	case State:
		r.Marker = Intent
	case Intent:
		r.Marker = State
	}
	return r
}

// ReleaseLevel returns r without type, subpath and fragment: R/-/F/<marker><value>
// for a local ref, the bare marker <marker><value> for a global one.
func (r Ref) ReleaseLevel() Ref {
	r.Type, r.Subpath, r.Fragment = "", "", ""
	return r
}

// WithRelease returns r with marker m and release value release, keeping
// repo, file, type, subpath and fragment. m should be State or Intent; the
// result is not validated.
func (r Ref) WithRelease(m Marker, release string) Ref {
	r.Marker, r.Release = m, release
	return r
}

// Segments returns the '/'-separated segments of the canonical form of r
// without fragment and without the trailing '/' of a repo-only ref
// ("example/-/" gives ["example" "-"]). It returns nil for the empty ref.
func (r Ref) Segments() []string {
	s := r.Doc().String()
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "/"), "/")
}

// MarshalText returns the canonical form of r.
func (r Ref) MarshalText() ([]byte, error) {
	return []byte(r.String()), nil
}

// UnmarshalText parses text with Parse: "" gives the empty ref.
func (r *Ref) UnmarshalText(text []byte) error {
	p, err := Parse(string(text))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// MarshalJSON returns the canonical form of r as a JSON string ("" for the
// empty ref). HTML characters are not escaped here; the encoder decides.
func (r Ref) MarshalJSON() ([]byte, error) {
	s := r.String()
	b := make([]byte, 0, len(s)+2)
	return appendJSONString(b, s), nil
}

// UnmarshalJSON parses a JSON string holding a ref; "" gives the empty ref
// and null leaves r unchanged.
func (r *Ref) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("a ref must be a JSON string")
	}
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// appendJSONString appends s to b as a JSON string. Invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
