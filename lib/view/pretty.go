package view

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
)

// token is a piece of a pretty-printed document. The template writes Text
// escaped, inside a span of class Class, or a link to Href; no document text
// ever reaches the page unescaped.
type token struct {
	Class string // "k" key, "s" string, "n" number, "b" bool, "z" null; "" punctuation
	Text  string
	Href  string // a ref or glob in a string, linked to its page
}

// maxPrettyTokens bounds the tokens of one document; the rest is cut.
const maxPrettyTokens = 200_000

// pretty prints v as indented JSON (two spaces, keys sorted, numbers as
// stored), as tokens to highlight. Strings holding a ref link to its page,
// strings holding a glob to its matches, http(s) URLs to themselves.
func pretty(v any) []token {
	p := printer{}
	p.value(v, 0)
	if len(p.out) >= maxPrettyTokens {
		p.out = append(p.out[:maxPrettyTokens], token{Class: "z", Text: "\n… (cut: the document is too large to show; see /api/get)"})
	}
	return p.out
}

type printer struct {
	out []token
}

func (p *printer) add(class, text, href string) {
	if len(p.out) > maxPrettyTokens {
		return
	}
	if class == "" && href == "" && len(p.out) > 0 {
		if last := &p.out[len(p.out)-1]; last.Class == "" && last.Href == "" {
			last.Text += text
			return
		}
	}
	p.out = append(p.out, token{Class: class, Text: text, Href: href})
}

func (p *printer) value(v any, depth int) {
	indent := "\n" + strings.Repeat("  ", depth)
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			p.add("", "{}", "")
			return
		}
		p.add("", "{", "")
		for i, k := range sortedKeys(v) {
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
