package ref

import "errors"

// ClassOf returns the Class of the first *Error in err's chain, or "" when
// there is none.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ""
}
