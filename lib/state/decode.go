package state

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Decode converts a value read from a store (generic JSON, json.Number for
// numbers) into a document type; numbers stay json.Number inside free-form
// fields. A field of the wrong JSON type is left zero and reported in the
// error, the other fields are decoded all the same.
func Decode(v any, dst any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("unexpected document: %w", err)
	}
	return nil
}
