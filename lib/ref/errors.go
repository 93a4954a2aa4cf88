package ref

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Class is the machine-readable class of a ref error (docs/refs.md §9).
type Class string

// Error classes of docs/refs.md §9.
const (
	EEmpty            Class = "E_EMPTY"
	EBadChar          Class = "E_BAD_CHAR"
	EGlobChar         Class = "E_GLOB_CHAR"
	ETooLong          Class = "E_TOO_LONG"
	EEmptySegment     Class = "E_EMPTY_SEGMENT"
	EDotSegment       Class = "E_DOT_SEGMENT"
	EDashSegment      Class = "E_DASH_SEGMENT"
	ESeparator        Class = "E_SEPARATOR"
	EMarkerInPath     Class = "E_MARKER_IN_PATH"
	EBadRelease       Class = "E_BAD_RELEASE"
	EUnknownType      Class = "E_UNKNOWN_TYPE"
	EMissingSubpath   Class = "E_MISSING_SUBPATH"
	EMarkerInSubpath  Class = "E_MARKER_IN_SUBPATH"
	EEquals           Class = "E_EQUALS"
	EMarkerInFragment Class = "E_MARKER_IN_FRAGMENT"
	ENoRepo           Class = "E_NO_REPO"
	ENoRelease        Class = "E_NO_RELEASE"
)

// Error is the error returned for an invalid ref or a ref that cannot be
// resolved. Input is the text as given (for resolution errors, the canonical
// form of the unresolved ref); Reason is the human-readable text of §9.
type Error struct {
	Input  string
	Class  Class
	Reason string
}

// Error returns `invalid ref "<input>": <reason>`, with control, invalid and
// other non-printable bytes of the input escaped as \xNN.
func (e *Error) Error() string {
	return "invalid ref " + quote(e.Input) + ": " + e.Reason
}

// quote returns s between double quotes, each byte of an invalid UTF-8
// sequence or of a non-printable rune (controls, white space other than
// U+0020, format characters, …) written as \xNN. Other characters, '"' and
// '\' included, are kept as they are.
func quote(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || !unicode.IsPrint(r) {
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
	return b.String()
}

// Reason texts and error constructors (docs/refs.md §9).

func errEmpty(in string) *Error {
	return &Error{in, EEmpty, "empty ref"}
}

func errBadChar(in string, r rune, off int) *Error {
	return &Error{in, EBadChar, fmt.Sprintf("character U+%04X at byte %d is not allowed", r, off)}
}

func errBadUTF8(in string, off int) *Error {
	return &Error{in, EBadChar, fmt.Sprintf("invalid UTF-8 at byte %d", off)}
}

func errManyHashes(in string) *Error {
	return &Error{in, EBadChar, "more than one '#'"}
}

func errGlobChar(in string, c byte) *Error {
	return &Error{in, EGlobChar, fmt.Sprintf("glob character '%c' is not allowed in a ref (to search, use ocu-match)", c)}
}

func errRefTooLong(in string) *Error {
	return &Error{in, ETooLong, fmt.Sprintf("ref longer than %d bytes", MaxLen)}
}

func errSegmentTooLong(in string) *Error {
	return &Error{in, ETooLong, fmt.Sprintf("segment longer than %d bytes", MaxSegmentLen)}
}

func errEmptySegment(in string, off int) *Error {
	return &Error{in, EEmptySegment, fmt.Sprintf("empty segment at byte %d (doubled or leading '/')", off)}
}

func errDotSegment(in, seg string) *Error {
	if seg == "." {
		return &Error{in, EDotSegment, "'.' segments are not allowed (only a leading './')"}
	}
	return &Error{in, EDotSegment, "'..' segments are not allowed"}
}

func errDashSegment(in, seg string) *Error {
	return &Error{in, EDashSegment, fmt.Sprintf(`segment "%s" may not start with '-' (only "/-/" separates repo and file)`, seg)}
}

func errManySeparators(in string) *Error {
	return &Error{in, ESeparator, `more than one "/-/" separator`}
}

func errMissingRepo(in string) *Error {
	return &Error{in, ESeparator, `missing repo before "/-/"`}
}

func errDashOnly(in string) *Error {
	return &Error{in, ESeparator, `segment "-" is only allowed as the repo/file separator`}
}

func errMarkerInPath(in, seg string) *Error {
	return &Error{in, EMarkerInPath, fmt.Sprintf(`'@' or '+' inside "%s": a release marker must start a segment`, seg)}
}

func errBadRelease(in, value string) *Error {
	if value == reservedRelease {
		return &Error{in, EBadRelease, fmt.Sprintf(`invalid release "%s": the name is reserved for the store's object files`, value)}
	}
	return &Error{in, EBadRelease, fmt.Sprintf(`invalid release "%s": use letters, digits, '.', '_' and '-', not starting with '.' or '-'`, value)}
}

func errUnknownType(in, typ string) *Error {
	return &Error{in, EUnknownType, fmt.Sprintf(`unknown subpath type "%s" (expected call, commit, custom, deploy, environment or task)`, typ)}
}

func errMissingSubpath(in, typ string) *Error {
	return &Error{in, EMissingSubpath, fmt.Sprintf(`"%s" must be followed by a name, e.g. %s/%s`, typ, typ, exampleName(typ))}
}

func errMarkerInSubpath(in, seg string) *Error {
	return &Error{in, EMarkerInSubpath, fmt.Sprintf(`subpath segment "%s" may not start with '@'`, seg)}
}

func errEquals(in string) *Error {
	return &Error{in, EEquals, "'=' is not allowed in a subpath"}
}

func errMarkerInFragment(in, seg string) *Error {
	return &Error{in, EMarkerInFragment, fmt.Sprintf(`fragment segment "%s" may not start with '@'`, seg)}
}

func errNoRepo(in string) *Error {
	return &Error{in, ENoRepo, "relative ref needs a repo: run inside a repo with repo.ocu.star or pass --repo"}
}

func errNoRelease(in, typ, subpath string) *Error {
	return &Error{in, ENoRelease, fmt.Sprintf(`"%s/%s" needs a release: write FILE/@N/%s/%s`, typ, subpath, typ, subpath)}
}

// exampleName is the sample name shown by E_MISSING_SUBPATH.
func exampleName(typ string) string {
	switch typ {
	case TypeCall:
		return "build"
	case TypeCommit:
		return "fa56a23554a75a7ab334f841c5f61f952e52930c"
	case TypeCustom:
		return "approval"
	case TypeTask:
		return "check_envs"
	default: // deploy, environment
		return "production"
	}
}
