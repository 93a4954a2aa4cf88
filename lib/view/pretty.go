package view

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// token is a piece of a pretty-printed document. The template writes Text
// escaped, inside a span of class Class, or a link to Href; no document text
// ever reaches the page unescaped.
type token struct {
	Class string // "k" key, "s" string, "n" number, "b" bool, "z" null; "" punctuation
	Text  string
	Href  string // a ref or glob in a string, linked to its page
}

// Bounds of one pretty-printed value (tokens, and bytes of HTML): past
// them the rest is cut, with a link to the whole value as JSON. Indentation makes a deeply nested value
// grow with the square of its depth, so depth is bounded on its own.
const (
	maxPrettyTokens = 200_000
	maxPrettyBytes  = 2 << 20
	maxPrettyDepth  = state.MaxNesting
)

// pretty prints v as indented JSON (two spaces, keys sorted, numbers as
// stored), as tokens to highlight. Strings holding a ref link to its page,
// strings holding a glob to its matches, http(s) URLs to themselves.
func pretty(v any) []token { return prettyAt(v, "") }

// prettyAt is pretty for the value read at the ref at (a fragment
// allowed): a value too large to show is cut with a link to
// /api/get/<at>, which serves all of it.
func prettyAt(v any, at string) []token {
	p := printer{}
	p.value(v, 0)
	if p.cut {
		note := token{Class: "z", Text: "\n… (cut: the value is too large or too deeply nested to show here; all of it: /api/get)"}
		if at != "" {
			note.Text = "\n… (cut: the value is too large or too deeply nested to show here; all of it as JSON)"
			note.Href = prefixAPIGet + escapePath(at)
		}
		p.out = append(p.out, note)
	}
	return p.out
}

type printer struct {
	out   []token
	bytes int  // size of out as HTML, about
	cut   bool // a bound was reached: nothing more is added
}

func (p *printer) add(class, text, href string) {
	if p.cut {
		return
	}
	size := len(text)
	if class != "" || href != "" {
		size += len(`<span class=""></span>`) + 2*len(href) // the markup around it, about
	}
	if len(p.out) >= maxPrettyTokens || p.bytes+size > maxPrettyBytes {
		p.cut = true
		return
	}
	p.bytes += size
	if class == "" && href == "" && len(p.out) > 0 {
		if last := &p.out[len(p.out)-1]; last.Class == "" && last.Href == "" {
			last.Text += text
			return
		}
	}
	p.out = append(p.out, token{Class: class, Text: text, Href: href})
}

func (p *printer) value(v any, depth int) {
	if p.cut {
		return
	}
	switch v.(type) {
	case map[string]any, []any:
		if depth >= maxPrettyDepth { // this one would be level depth+1
			p.cut = true
			return
		}
	}
	indent := "\n" + strings.Repeat("  ", depth)
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			p.add("", "{}", "")
			return
		}
		p.add("", "{", "")
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				p.add("", ",", "")
			}
			p.add("", indent+"  ", "")
			p.add("k", quote(k), "")
			p.add("", ": ", "")
			p.value(v[k], depth+1)
		}
		p.add("", indent+"}", "")
	case []any:
		if len(v) == 0 {
			p.add("", "[]", "")
			return
		}
		p.add("", "[", "")
		for i, e := range v {
			if i > 0 {
				p.add("", ",", "")
			}
			p.add("", indent+"  ", "")
			p.value(e, depth+1)
		}
		p.add("", indent+"]", "")
	case string:
		p.add("s", quote(v), hrefFor(v))
	case json.Number:
		p.add("n", v.String(), "")
	case float64, int, int64:
		b, _ := json.Marshal(v)
		p.add("n", string(b), "")
	case bool:
		if v {
			p.add("b", "true", "")
		} else {
			p.add("b", "false", "")
		}
	case nil:
		p.add("z", "null", "")
	default:
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte("?")
		}
		p.add("", string(b), "")
	}
}

// quote returns s as a JSON string literal, without HTML escaping (the
// template escapes).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// hrefFor returns the page a string value points at: an absolute ref
// (its /ref page), a glob over refs (its /match page), an http(s) URL; or "".
func hrefFor(s string) string {
	switch {
	case s == "" || len(s) > ref.MaxLen:
		return ""
	case strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		if strings.ContainsAny(s, " \t\r\n\"'<>`") {
			return ""
		}
		return s
	}
	if r, err := ref.Parse(s); err == nil {
		if r.IsRelative() || r.IsZero() || (!r.Global && r.Repo == "") {
			return ""
		}
		return refPath(s)
	}
	if strings.ContainsAny(s, "*?[{") && (strings.Contains(s, "/-/") || strings.HasPrefix(s, "@/") || strings.HasPrefix(s, "+/")) {
		if _, err := ref.CompileGlob(s); err == nil {
			return matchPath(s)
		}
	}
	return ""
}

// scalarText renders a value on one line: strings as they are, anything
// else as compact JSON.
func scalarText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "?"
	}
	return strings.TrimSuffix(b.String(), "\n")
}
