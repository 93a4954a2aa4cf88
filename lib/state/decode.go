package state

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Decode converts a value read from a store (generic JSON: map[string]any,
// []any, string, json.Number, bool, nil) into dst, a pointer to a document
// type, as encoding/json would decode the value's JSON with UseNumber:
// object keys match field names of the json tags (exactly, else ignoring
// case), unknown keys are ignored, null leaves a field as it is (pointers,
// maps, slices and interfaces become nil), []byte is read from base64, and
// free-form (any) fields get the value itself, numbers as json.Number. A
// value of the wrong JSON type leaves its field zero and is reported in the
// error; the other fields are decoded all the same. Values in free-form
// fields are shared with v: neither may be modified afterwards.
func Decode(v any, dst any) error {
	var d Decoder
	return d.Decode(v, dst)
}

// A Decoder is Decode remembering the layout of the types it decodes into
// (their fields, whether they decode themselves), so that one Decoder
// used for many documents, an engine run's say, works that out once per
// type. The zero Decoder is ready; it is safe for concurrent use and must
// not be copied after first use.
type Decoder struct {
	types sync.Map // reflect.Type → *typeInfo
}

// typeInfo is what a Decoder remembers of a type.
type typeInfo struct {
	unmarshaler bool        // a pointer to the type implements json.Unmarshaler
	fields      []fieldInfo // struct types: the fields JSON keys decode into
}

// fieldInfo is a struct field that JSON keys decode into.
type fieldInfo struct {
	index int
	name  string // the json tag's name, else the field's
}

func (dc *Decoder) info(t reflect.Type) *typeInfo {
	if ti, ok := dc.types.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{unmarshaler: reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())}
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			ti.fields = append(ti.fields, fieldInfo{index: i, name: name})
		}
	}
	dc.types.Store(t, ti)
	return ti
}

// Decode is the package's Decode.
func (dc *Decoder) Decode(v any, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("unexpected document: decoding into a non-pointer")
	}
	d := decoder{dc: dc}
	d.value(v, rv.Elem())
	if d.err != nil {
		return fmt.Errorf("unexpected document: %w", d.err)
	}
	return nil
}

// decoder is one Decode: it remembers the first mismatch.
type decoder struct {
	dc  *Decoder
	err error
}

func (d *decoder) fail(v any, dst reflect.Value) {
	if d.err == nil {
		what := "null"
		switch v.(type) {
		case map[string]any:
			what = "object"
		case []any:
			what = "array"
		case string:
			what = "string"
		case json.Number:
			what = "number"
		case bool:
			what = "boolean"
		}
		d.err = fmt.Errorf("cannot use %s as %s", what, dst.Type())
	}
}

func (d *decoder) value(v any, dst reflect.Value) {
	if d.dc.info(dst.Type()).unmarshaler {
		d.viaJSON(v, dst)
		return
	}
	if v == nil {
		switch dst.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			dst.SetZero()
		}
		return
	}
	switch dst.Kind() {
	case reflect.Interface:
		if dst.NumMethod() != 0 {
			d.fail(v, dst)
			return
		}
		dst.Set(reflect.ValueOf(v))
	case reflect.Pointer:
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		d.value(v, dst.Elem())
	case reflect.String:
		if s, ok := v.(string); ok {
			dst.SetString(s)
		} else {
			d.fail(v, dst)
		}
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			dst.SetBool(b)
		} else {
			d.fail(v, dst)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || dst.OverflowInt(i) {
			d.fail(v, dst)
			return
		}
		dst.SetInt(i)
	case reflect.Slice:
		d.slice(v, dst)
	case reflect.Map:
		d.mapping(v, dst)
	case reflect.Struct:
		d.object(v, dst)
	default:
		d.viaJSON(v, dst)
	}
}

func (d *decoder) slice(v any, dst reflect.Value) {
	if dst.Type().Elem().Kind() == reflect.Uint8 {
		s, ok := v.(string)
		b, err := base64.StdEncoding.DecodeString(s)
		if !ok || err != nil {
			d.fail(v, dst)
			return
		}
		dst.SetBytes(b)
		return
	}
	list, ok := v.([]any)
	if !ok {
		d.fail(v, dst)
		return
	}
	out := reflect.MakeSlice(dst.Type(), len(list), len(list))
	for i, x := range list {
		d.value(x, out.Index(i))
	}
	dst.Set(out)
}

func (d *decoder) mapping(v any, dst reflect.Value) {
	obj, ok := v.(map[string]any)
	if !ok || dst.Type().Key().Kind() != reflect.String {
		d.fail(v, dst)
		return
	}
	if dst.IsNil() {
		dst.Set(reflect.MakeMapWithSize(dst.Type(), len(obj)))
	}
	elem := dst.Type().Elem()
	for k, x := range obj {
		e := reflect.New(elem).Elem()
		d.value(x, e)
		dst.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), e)
	}
}

func (d *decoder) object(v any, dst reflect.Value) {
	obj, ok := v.(map[string]any)
	if !ok {
		d.fail(v, dst)
		return
	}
	for _, f := range d.dc.info(dst.Type()).fields {
		x, found := obj[f.name]
		if !found {
			for k, kv := range obj {
				if strings.EqualFold(k, f.name) {
					x, found = kv, true
					break
				}
			}
		}
		if found {
			d.value(x, dst.Field(f.index))
		}
	}
}

// viaJSON decodes types this decoder does not know (json.Unmarshaler
// implementations) through their JSON.
func (d *decoder) viaJSON(v any, dst reflect.Value) {
	data, err := json.Marshal(v)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		err = dec.Decode(dst.Addr().Interface())
	}
	if err != nil && d.err == nil {
		d.err = err
	}
}
