package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// Object kinds stored in an envelope's "kind" field.
const (
	kindDoc  = "ref"
	kindLink = "link"
)

// MaxDocumentSize is the largest store object (an @object.json envelope)
// ocu writes or reads: 64 MiB. A bigger file is refused without being read
// whole; a write that would make one fails.
const MaxDocumentSize = 64 << 20

// tooLarge is the E_CORRUPT error of a store object over MaxDocumentSize.
func tooLarge(path string) *Error {
	return &Error{Code: ECorrupt, Msg: fmt.Sprintf("%s is larger than the document size limit (%d MiB)", path, MaxDocumentSize>>20)}
}

// object is one decoded @object.json envelope (docs/store-format.md §3).
type object struct {
	kind   string
	links  []string        // back-references (documents only)
	body   json.RawMessage // the document, or a JSON string for a link; nil when value is set
	target string          // canonical target ref, links only

	value  any  // the document decoded (json.Number for numbers), when valued
	valued bool // decoded by decodeObjectValue: value is set, body is not
}

func (o *object) isLink() bool { return o.kind == kindLink }

// decodeObject parses envelope bytes. Readers accept any valid JSON layout.
func decodeObject(path string, data []byte) (*object, error) {
	var env struct {
		Kind  *string         `json:"kind"`
		Links []string        `json:"links"`
		Body  json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, corrupt(path, err)
	}
	if env.Kind == nil {
		return nil, corrupt(path, errors.New(`missing "kind"`))
	}
	o := &object{kind: *env.Kind, links: env.Links, body: env.Body}
	if len(o.body) == 0 {
		o.body = json.RawMessage("null")
	}
	switch o.kind {
	case kindDoc:
	case kindLink:
		var s string
		if err := json.Unmarshal(o.body, &s); err != nil {
			return nil, corrupt(path, errors.New("link body is not a string"))
		}
		t, err := ref.Parse(s)
		if err != nil || t.IsZero() || t.Fragment != "" || t.IsRelative() {
			return nil, corrupt(path, fmt.Errorf("link target %q is not a valid ref", s))
		}
		o.target = t.String()
		o.links = nil
	default:
		return nil, corrupt(path, fmt.Errorf("unknown kind %q", o.kind))
	}
	return o, nil
}

// decodeObjectValue is decodeObject for readers: it decodes the envelope
// and the document in it in one pass with the fast parser (jsonparse.go),
// the document's value as DecodeValue gives it. Anything that parser or
// this function does not accept is handed to decodeObject, whose errors
// are the reader's.
func decodeObjectValue(path string, data []byte) (*object, error) {
	env, ok := parseEnvelope(data)
	if !ok {
		return decodeObject(path, data)
	}
	switch env.kind {
	case kindDoc:
		return &object{kind: kindDoc, links: env.links, value: env.body, valued: true}, nil
	case kindLink:
		s, ok := env.body.(string)
		if !ok {
			return decodeObject(path, data)
		}
		t, err := ref.Parse(s)
		if err != nil || t.IsZero() || t.Fragment != "" || t.IsRelative() {
			return decodeObject(path, data)
		}
		return &object{kind: kindLink, target: t.String()}, nil
	}
	return decodeObject(path, data)
}

// encode returns the canonical bytes of the envelope: keys kind, links, body;
// two-space indentation; no HTML escaping; no trailing newline.
func (o *object) encode() ([]byte, error) {
	type docEnv struct {
		Kind  string          `json:"kind"`
		Links []string        `json:"links,omitempty"`
		Body  json.RawMessage `json:"body"`
	}
	env := docEnv{Kind: o.kind, Body: o.body}
	if o.kind == kindDoc {
		env.Links = normalLinks(o.links)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(env); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// normalLinks sorts back-references bytewise and removes duplicates.
func normalLinks(links []string) []string {
	if len(links) == 0 {
		return nil
	}
	out := slices.Clone(links)
	slices.Sort(out)
	return slices.Compact(out)
}

// marshalValue encodes a document value compactly without HTML escaping.
// Maps are written with sorted keys; json.Number keeps its exact text.
// Every document written passes through here, so values nested deeper
// than state.MaxNesting are refused here, whatever wrote them.
func marshalValue(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, errors.New("invalid JSON value")
		}
		if err := state.CheckText(string(raw)); err != nil {
			return nil, err
		}
		if err := checkJSON(raw, state.MaxNesting); err != nil {
			return nil, err
		}
		return raw, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if err := checkJSON(b, state.MaxNesting); err != nil {
		var ve *state.ValueError
		if errors.As(err, &ve) {
			return nil, errors.New(ve.Reason) // an offset in our own encoding means nothing to the writer
		}
		return nil, err
	}
	return json.RawMessage(b), nil
}

// linkBody is the JSON body of a link to target.
func linkBody(target string) json.RawMessage {
	b, _ := marshalValue(target) // a string always encodes
	return b
}

// JSONError reports input that is not exactly one JSON value.
type JSONError struct {
	Offset int64 // byte offset of the problem, from 0
	Err    error
}

func (e *JSONError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %v", e.Offset, e.Err)
}

func (e *JSONError) Unwrap() error { return e.Err }

// DecodeValue decodes exactly one JSON value (surrounding white space
// allowed), with json.Number for numbers: the representation every store
// value uses. Errors are *JSONError.
func DecodeValue(data []byte) (any, error) {
	if v, ok := parseJSON(data); ok {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			// Offset counts the bytes read, the offending one included.
			return nil, &JSONError{Offset: max(se.Offset-1, 0), Err: err}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &JSONError{Offset: int64(len(data)), Err: errors.New("unexpected end of input")}
		default:
			return nil, &JSONError{Offset: dec.InputOffset(), Err: err}
		}
	}
	off := dec.InputOffset()
	if rest := bytes.TrimLeft(data[off:], " \t\r\n"); len(rest) > 0 {
		return nil, &JSONError{Offset: int64(len(data) - len(rest)), Err: errors.New("unexpected data after the value")}
	}
	return v, nil
}
