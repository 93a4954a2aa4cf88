package store

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the readers' fast JSON decoder. Reading a document is mostly
// decoding its JSON (an idle engine run reads some 10,000 small documents,
// docs/open-work.md §10), and encoding/json's generic decoding costs three
// times what a plain recursive descent does. The parser below accepts a
// subset of what encoding/json accepts and gives exactly the value
// encoding/json gives with UseNumber (map[string]any, []any, string,
// json.Number, bool, nil); on anything else — invalid JSON, invalid UTF-8,
// a lone surrogate escape, very deep nesting — it reports false and the
// caller decodes with encoding/json, whose errors are the reader's.

// maxParseDepth is the deepest nesting the fast parser handles; deeper
// values go to encoding/json (which refuses past 10,000).
const maxParseDepth = 1000

// jsonParser decodes one JSON text held in data.
type jsonParser struct {
	data  []byte
	pos   int
	depth int
}

// parseJSON decodes data, one JSON value with white space around it.
func parseJSON(data []byte) (any, bool) {
	p := jsonParser{data: data}
	v, ok := p.value()
	if !ok || !p.end() {
		return nil, false
	}
	return v, true
}

// envelope is an @object.json envelope as the fast parser reads it.
type envelope struct {
	kind  string
	links []string
	body  any
}

// parseEnvelope decodes the envelope in data (docs/store-format.md §3) as
// decodeObject's json.Unmarshal would, for envelopes whose keys are
// exactly "kind", "links" and "body", each at most once, with a string
// kind; other keys are skipped as Unmarshal skips them. Anything else (a
// key differing from those only in case, say, which Unmarshal matches
// too) reports false.
func parseEnvelope(data []byte) (envelope, bool) {
	var env envelope
	p := jsonParser{data: data}
	p.space()
	if !p.take('{') {
		return env, false
	}
	var seenKind, seenLinks, seenBody bool
	p.space()
	if p.take('}') {
		return env, false // no kind
	}
	for {
		p.space()
		key, ok := p.rawKey()
		if !ok {
			return env, false
		}
		p.space()
		if !p.take(':') {
			return env, false
		}
		p.space()
		switch {
		case key == "kind" && !seenKind:
			seenKind = true
			v, ok := p.value()
			s, isString := v.(string)
			if !ok || !isString {
				return env, false
			}
			env.kind = s
		case key == "links" && !seenLinks:
			seenLinks = true
			v, ok := p.value()
			if !ok {
				return env, false
			}
			switch v := v.(type) {
			case nil:
			case []any:
				env.links = make([]string, len(v))
				for i, x := range v {
					s, isString := x.(string)
					if !isString {
						return env, false
					}
					env.links[i] = s
				}
			default:
				return env, false
			}
		case key == "body" && !seenBody:
			seenBody = true
			v, ok := p.value()
			if !ok {
				return env, false
			}
			env.body = v
		case foldsTo(key, "kind") || foldsTo(key, "links") || foldsTo(key, "body"):
			return env, false // a repeated or case-folded field: Unmarshal's rules
		default:
			if _, ok := p.value(); !ok {
				return env, false
			}
		}
		p.space()
		if p.take('}') {
			break
		}
		if !p.take(',') {
			return env, false
		}
	}
	if !seenKind || !p.end() {
		return env, false
	}
	return env, true
}

// foldsTo reports whether key equals name, an ASCII lower-case word,
// ignoring case; keys with other bytes go to Unmarshal anyway when they
// could fold (Unicode folds such as 'ſ' for 's').
func foldsTo(key, name string) bool {
	if len(key) != len(name) {
		return len(key) > len(name) && len(key) <= 3*len(name) && !isASCII(key)
	}
	for i := range len(key) {
		c := key[i]
		if c >= 0x80 {
			return true
		}
		if c|0x20 != name[i] {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// end reports whether only white space is left.
func (p *jsonParser) end() bool {
	p.space()
	return p.pos == len(p.data)
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) take(c byte) bool {
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// literal consumes word (true, false, null).
func (p *jsonParser) literal(word string) bool {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return false
	}
	p.pos += len(word)
	return true
}

// value decodes the value at pos, white space before it skipped.
func (p *jsonParser) value() (any, bool) {
	p.space()
	if p.pos >= len(p.data) {
		return nil, false
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, false
}

func (p *jsonParser) object() (any, bool) {
	if p.depth++; p.depth > maxParseDepth {
		return nil, false
	}
	p.pos++ // {
	m := map[string]any{}
	p.space()
	if p.take('}') {
		p.depth--
		return m, true
	}
	for {
		p.space()
		key, ok := p.rawKey()
		if !ok {
			return nil, false
		}
		p.space()
		if !p.take(':') {
			return nil, false
		}
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		m[key] = v // the last of repeated keys wins, as with encoding/json
		p.space()
		if p.take('}') {
			p.depth--
			return m, true
		}
		if !p.take(',') {
			return nil, false
		}
	}
}

func (p *jsonParser) array() (any, bool) {
	if p.depth++; p.depth > maxParseDepth {
		return nil, false
	}
	p.pos++ // [
	a := []any{}
	p.space()
	if p.take(']') {
		p.depth--
		return a, true
	}
	for {
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		p.space()
		if p.take(']') {
			p.depth--
			return a, true
		}
		if !p.take(',') {
			return nil, false
		}
	}
}

// rawKey decodes the object key at pos.
func (p *jsonParser) rawKey() (string, bool) {
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return "", false
	}
	v, ok := p.str()
	s, _ := v.(string)
	return s, ok
}

// str decodes the string at pos (at its opening quote).
func (p *jsonParser) str() (any, bool) {
	start := p.pos + 1
	i := start
	ascii := true
	for ; i < len(p.data); i++ {
		c := p.data[i]
		switch {
		case c == '"':
			s := p.data[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false // encoding/json replaces invalid bytes
			}
			p.pos = i + 1
			return string(s), true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

// escaped decodes the string starting at start that holds escapes.
func (p *jsonParser) escaped(start int) (any, bool) {
	buf := make([]byte, 0, 64)
	for i := start; i < len(p.data); {
		c := p.data[i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return nil, false
			}
			p.pos = i + 1
			return string(buf), true
		case c < 0x20:
			return nil, false
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(p.data) {
			return nil, false
		}
		switch e := p.data[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(p.data, i+2)
			if !ok {
				return nil, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := hex4(p.data, i+2)
				if i+1 >= len(p.data) || p.data[i] != '\\' || p.data[i+1] != 'u' || !ok {
					return nil, false // a lone surrogate: encoding/json's U+FFFD
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, false
				}
				i += 6
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	return nil, false
}

// number decodes the number at pos: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() (any, bool) {
	d, start := p.data, p.pos
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i++; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	default:
		return nil, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, false
		}
		for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, false
		}
		for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	}
	p.pos = i
	return json.Number(d[start:i]), true
}
