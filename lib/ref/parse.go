package ref

import "strings"

// reservedRelease is the one release value that matches the release syntax
// but is refused: "@object.json" is the store's file name (docs/store-format.md §2).
const reservedRelease = "object.json"

// Parse parses s as a ref (docs/refs.md §3). The empty string gives the zero Ref
// and no error (the library accepts "" in JSON fields; tools use ParseTool).
// Every error is an *Error. The fields of the result are substrings of s.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, nil
	}
	r, err := parse(s)
	if err != nil {
		return Ref{}, err
	}
	return r, nil
}

// ParseTool is Parse for tool arguments and input lines: the empty ref is
// refused with E_EMPTY.
func ParseTool(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errEmpty(s)
	}
	return Parse(s)
}

// ValidateRepo reports whether name is a valid repo part (docs/refs.md §3 step 7),
// as needed for a repo alias or a repo name derived from a URL. The error is
// an *Error whose Input is name.
func ValidateRepo(name string) error {
	if err := validateRepo(name); err != nil {
		return err
	}
	return nil
}

func validateRepo(name string) *Error {
	if name == "" {
		return &Error{name, EEmpty, "empty repo name"}
	}
	hash, err := checkChars(name)
	if err != nil {
		return err
	}
	if hash >= 0 {
		return errBadChar(name, '#', hash)
	}
	if len(name)+len("/-/") > MaxLen {
		return errRefTooLong(name)
	}
	if err := checkEmptySegments(name, name, 0); err != nil {
		return err
	}
	return forSegments(name, func(seg string) *Error {
		if seg == "-" {
			return errDashOnly(name)
		}
		return checkPathSegment(name, seg)
	})
}

// parse implements docs/refs.md §3 for a non-empty input.
func parse(in string) (Ref, *Error) {
	var r Ref
	hash, err := checkChars(in)
	if err != nil {
		return r, err
	}
	body := in
	if hash >= 0 {
		body = in[:hash]
		if r.Fragment, err = parseFragment(in, in[hash+1:], hash+1); err != nil {
			return r, err
		}
	}
	body = strings.TrimSuffix(body, "/")
	if body == "" {
		return r, errEmpty(in)
	}
	if err := checkEmptySegments(in, body, 0); err != nil {
		return r, err
	}
	first, rest := cut(body)
	switch {
	case isMarker(first[0]):
		r.Global = true
		err = parseRelease(in, &r, first, rest)
	case first == ".":
		err = parseDotRelative(in, &r, rest)
	default:
		err = parseLocal(in, &r, body)
	}
	return r, err
}

// parseFragment checks the text after '#' (docs/refs.md §3 step 3) and returns
// the fragment; off is the byte offset of frag in the input.
func parseFragment(in, frag string, off int) (string, *Error) {
	if frag == "" {
		return "", nil
	}
	frag = strings.TrimSuffix(frag, "/")
	if err := checkEmptySegments(in, frag, off); err != nil {
		return "", err
	}
	err := forSegments(frag, func(seg string) *Error {
		switch {
		case seg == "." || seg == "..":
			return errDotSegment(in, seg)
		case seg[0] == '@':
			return errMarkerInFragment(in, seg)
		}
		return nil
	})
	return frag, err
}

// parseDotRelative handles a body starting with "./" (docs/refs.md §3 step 6);
// rest is the body after it.
func parseDotRelative(in string, r *Ref, rest string) *Error {
	if rest == "" {
		return errEmpty(in)
	}
	second, tail := cut(rest)
	switch {
	case second == "-":
		r.Repo = "."
		if err := forSegments(tail, func(seg string) *Error {
			if seg == "-" {
				return errManySeparators(in)
			}
			return nil
		}); err != nil {
			return err
		}
		return parseFilePart(in, r, tail)
	case isMarker(second[0]):
		r.File = "."
		return parseRelease(in, r, second, tail)
	default:
		r.File = "."
		return parseTypeSubpath(in, r, rest)
	}
}

// parseLocal handles a body that is neither global nor "./"-relative
// (docs/refs.md §3 steps 7 and 8).
func parseLocal(in string, r *Ref, body string) *Error {
	sep, n := -1, 0 // offset of the first "-" segment, number of them
	for off := 0; off < len(body); {
		seg, next := segmentAt(body, off)
		if seg == "-" {
			if n == 0 {
				sep = off
			}
			n++
		}
		off = next
	}
	filePart := body
	switch {
	case n > 1:
		return errManySeparators(in)
	case n == 1:
		if sep == 0 {
			return errMissingRepo(in)
		}
		r.Repo = body[:sep-1]
		if err := forSegments(r.Repo, func(seg string) *Error {
			return checkPathSegment(in, seg)
		}); err != nil {
			return err
		}
		filePart = ""
		if sep+2 < len(body) {
			filePart = body[sep+2:]
		}
	}
	return parseFilePart(in, r, filePart)
}

// parseFilePart splits the part after the separator (or the whole body) into
// file, release segment and the rest (docs/refs.md §3 step 8).
func parseFilePart(in string, r *Ref, part string) *Error {
	for off := 0; off < len(part); {
		seg, next := segmentAt(part, off)
		if isMarker(seg[0]) {
			if off > 0 {
				r.File = part[:off-1]
			}
			rest := ""
			if next < len(part) {
				rest = part[next:]
			}
			return parseRelease(in, r, seg, rest)
		}
		if err := checkPathSegment(in, seg); err != nil {
			return err
		}
		off = next
	}
	r.File = part
	return nil
}

// parseRelease sets marker and value from the release segment seg and parses
// the type and subpath in rest (docs/refs.md §3 steps 9 and 10).
func parseRelease(in string, r *Ref, seg, rest string) *Error {
	r.Marker = Marker(seg[0])
	r.Release = seg[1:]
	if !validRelease(r.Release) {
		return errBadRelease(in, r.Release)
	}
	return parseTypeSubpath(in, r, rest)
}

// parseTypeSubpath parses "TYPE/SUBPATH" (docs/refs.md §3 step 10); rest may be
// empty.
func parseTypeSubpath(in string, r *Ref, rest string) *Error {
	if rest == "" {
		return nil
	}
	typ, sub := cut(rest)
	if !knownType(typ) {
		return errUnknownType(in, typ)
	}
	if sub == "" {
		return errMissingSubpath(in, typ)
	}
	if err := forSegments(sub, func(seg string) *Error {
		switch {
		case seg == "." || seg == "..":
			return errDotSegment(in, seg)
		case seg == "-":
			return errDashOnly(in)
		case seg[0] == '@':
			return errMarkerInSubpath(in, seg)
		case strings.IndexByte(seg, '=') >= 0:
			return errEquals(in)
		}
		return nil
	}); err != nil {
		return err
	}
	r.Type, r.Subpath = typ, sub
	return nil
}

// checkPathSegment checks a repo or file segment (docs/refs.md §3 steps 7 and 8).
func checkPathSegment(in, seg string) *Error {
	switch {
	case strings.ContainsAny(seg, "@+"):
		return errMarkerInPath(in, seg)
	case seg == "." || seg == "..":
		return errDotSegment(in, seg)
	case seg[0] == '-':
		return errDashSegment(in, seg)
	}
	return nil
}

// validRelease reports whether v matches ^([A-Za-z0-9_][A-Za-z0-9._-]*)?$
// and is not the reserved "object.json".
func validRelease(v string) bool {
	if v == "" {
		return true
	}
	if v == reservedRelease || v[0] == '.' || v[0] == '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == '.' || c == '-':
		default:
			return false
		}
	}
	return true
}

func knownType(t string) bool {
	switch t {
	case TypeCall, TypeCommit, TypeCustom, TypeDeploy, TypeEnvironment, TypeTask:
		return true
	}
	return false
}

func isMarker(c byte) bool {
	return c == '@' || c == '+'
}

// cut splits s at its first '/'.
func cut(s string) (first, rest string) {
	first, rest, _ = strings.Cut(s, "/")
	return first, rest
}

// segmentAt returns the segment of s starting at off and the offset of the
// next segment (len(s)+1 after the last one).
func segmentAt(s string, off int) (seg string, next int) {
	if i := strings.IndexByte(s[off:], '/'); i >= 0 {
		return s[off : off+i], off + i + 1
	}
	return s[off:], len(s) + 1
}

// forSegments calls f for every '/'-separated segment of s (none when s is
// empty) and returns the first error.
func forSegments(s string, f func(seg string) *Error) *Error {
	for off := 0; off < len(s); {
		seg, next := segmentAt(s, off)
		if err := f(seg); err != nil {
			return err
		}
		off = next
	}
	return nil
}

// checkEmptySegments reports the first empty segment of the non-empty s
// (a leading, doubled or trailing '/'); off is the offset of s in the input.
func checkEmptySegments(in, s string, off int) *Error {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' && (i == 0 || s[i-1] == '/') {
			return errEmptySegment(in, off+i)
		}
	}
	if s == "" || s[len(s)-1] == '/' {
		return errEmptySegment(in, off+len(s))
	}
	return nil
}
