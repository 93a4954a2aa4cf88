package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Store kinds.
const (
	KindFS  = "fs"
	KindGit = "git"
)

// Location names a store (docs/store-format.md §1): a folder (Kind "fs") or a branch of
// a git remote (Kind "git"). It is only a name: opening the store is the
// store package's job.
type Location struct {
	// Kind is KindFS or KindGit.
	Kind string
	// Path is the absolute, cleaned root folder of a filesystem store.
	Path string
	// URL is the redacted remote URL of a git store (docs/store-format.md §11.1):
	// user-info and trailing "/" removed, local paths made absolute. It
	// identifies the store (Same, cache key) and is safe to print.
	URL string
	// Remote is the URL to hand to the git transport: like URL but with its
	// credentials. Never print it; use String.
	Remote string
	// Branch is the configured branch; empty means the remote's default
	// branch.
	Branch string
	// CreateBranch reports whether a missing branch is created by the first
	// write (default true).
	CreateBranch bool
	// SupportFiles are the files written at the branch root (docs/store-format.md
	// §11.6), path → content; validated when the location is made.
	SupportFiles map[string]string
}

// String returns the location as a location string (docs/store-format.md §1): the
// folder path, or git+URL[#BRANCH] with user-info shown as ***.
func (l Location) String() string {
	switch l.Kind {
	case KindFS:
		return l.Path
	case KindGit:
		s := "git+" + displayURL(l.Remote)
		if l.Branch != "" {
			s += "#" + l.Branch
		}
		return s
	}
	return "<no store>"
}

// Credential returns the secret in the user-info of a git store's URL: the
// password ("https://x-access-token:TOKEN@host/…"), or, in an http(s) URL
// without one, the user name, which is then a token
// ("https://TOKEN@host/…"). It is "" when there is none; an ssh user name
// ("git@host:…") is not a secret.
func (l Location) Credential() string {
	if l.Kind != KindGit {
		return ""
	}
	_, userinfo, _, _ := splitAuthority(l.Remote)
	user, password, hasPassword := strings.Cut(strings.TrimSuffix(userinfo, "@"), ":")
	if hasPassword {
		return password
	}
	if kind, scheme := classifyURL(l.Remote); kind == urlScheme && strings.HasPrefix(strings.ToLower(scheme), "http") {
		return user
	}
	return ""
}

// IsZero reports whether l names no store.
func (l Location) IsZero() bool { return l.Kind == "" }

// Same reports whether l and o are the same store (docs/store-format.md §1): equal
// cleaned absolute paths with symbolic links resolved (as far as the path
// exists), or equal redacted URLs and branches.
func (l Location) Same(o Location) bool {
	if l.Kind != o.Kind {
		return false
	}
	switch l.Kind {
	case KindFS:
		return l.Path == o.Path || resolvePath(l.Path) == resolvePath(o.Path)
	case KindGit:
		return l.URL == o.URL && l.Branch == o.Branch
	}
	return false
}

// resolvePath resolves the symbolic links of the longest existing prefix of
// the absolute path p.
func resolvePath(p string) string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p
	}
	return filepath.Join(resolvePath(parent), filepath.Base(p))
}

// LocationError is a store location given as an option (--state-store,
// --intent-store, or their OCU_* variables) that names no store: a usage
// problem, told apart from a store that fails to open.
type LocationError struct {
	Option string // "--state-store"
	Err    error
}

func (e *LocationError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *LocationError) Unwrap() error { return e.Err }

// ParseLocation parses a location string given on the command line
// (--state-store, --intent-store; docs/store-format.md §1):
//
//	PATH             filesystem store; relative paths are relative to dir
//	git+URL          git store on the remote's default branch
//	git+URL#BRANCH   git store on BRANCH
//
// Local git URLs are made absolute relative to dir. dir must be absolute.
func ParseLocation(s, dir string) (Location, error) {
	if s == "" {
		return Location{}, errors.New("empty store location")
	}
	if rest, ok := strings.CutPrefix(s, "git+"); ok {
		url, branch, hasBranch := strings.Cut(rest, "#")
		if hasBranch && branch == "" {
			return Location{}, fmt.Errorf("store location %q: empty branch after #", displayLocation(s))
		}
		loc, err := gitLocation(url, dir)
		if err != nil {
			return Location{}, fmt.Errorf("store location %q: %v", displayLocation(s), err)
		}
		if err := validateBranch(branch); err != nil {
			return Location{}, fmt.Errorf("store location %q: %v", displayLocation(s), err)
		}
		loc.Branch = branch
		return loc, nil
	}
	return fsLocation(s, dir)
}

// displayLocation hides the credentials of a location string.
func displayLocation(s string) string {
	if rest, ok := strings.CutPrefix(s, "git+"); ok {
		return "git+" + displayURL(rest)
	}
	return s
}

// fsLocation makes a filesystem location; relative paths are relative to base.
func fsLocation(p, base string) (Location, error) {
	if p == "" {
		return Location{}, errors.New("empty store path")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return Location{Kind: KindFS, Path: filepath.Clean(p)}, nil
}

// gitLocation makes a git location on the default branch; local paths are
// made absolute relative to base.
func gitLocation(raw, base string) (Location, error) {
	if raw == "" {
		return Location{}, errors.New("empty git URL")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return Location{}, fmt.Errorf("invalid git URL %q: white space or control character", displayURL(raw))
	}
	var remote, redacted string
	switch kind, scheme := classifyURL(raw); kind {
	case urlScheme:
		switch strings.ToLower(scheme) {
		case "https", "http", "ssh", "file":
		default:
			return Location{}, fmt.Errorf("unsupported git URL scheme %q (use https://, http://, ssh://, file://, user@host:path or a local path)", scheme)
		}
		if _, _, host, _ := splitAuthority(raw); host == "" && !strings.EqualFold(scheme, "file") {
			return Location{}, fmt.Errorf("invalid git URL %q: no host", displayURL(raw))
		}
		if _, err := url.Parse(raw); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // without the URL, which may hold credentials
			}
			return Location{}, fmt.Errorf("invalid git URL %q: %v", displayURL(raw), err)
		}
		remote = raw
		redacted = trimURLSlash(stripUserInfo(raw))
	case urlSCP:
		remote = raw
		redacted = trimURLSlash(stripUserInfo(raw))
	default:
		p := raw
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		p = filepath.Clean(p)
		remote, redacted = p, p
	}
	return Location{Kind: KindGit, URL: redacted, Remote: remote, CreateBranch: true}, nil
}

// CheckRefName refuses a name that git cannot give a branch or tag.
func CheckRefName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	return validateBranch(name)
}

// validateBranch checks a configured branch name (empty = default branch).
func validateBranch(b string) error {
	if b == "" {
		return nil
	}
	if strings.ContainsFunc(b, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`~^:?*[\`, r)
	}) || strings.HasPrefix(b, "-") || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") ||
		strings.Contains(b, "..") || strings.Contains(b, "//") || strings.HasSuffix(b, ".lock") ||
		strings.Contains(b, "@{") || b == "@" {
		return fmt.Errorf("invalid branch name %q", b)
	}
	return nil
}

type urlKind int

const (
	urlLocal  urlKind = iota // a path
	urlSCP                   // [user@]host:path
	urlScheme                // scheme://…
)

// classifyURL tells URLs with a scheme, SCP-like URLs and local paths
// apart, as git does.
func classifyURL(s string) (urlKind, string) {
	if i := strings.Index(s, "://"); i > 0 && validScheme(s[:i]) {
		return urlScheme, s[:i]
	}
	if i := strings.IndexByte(s, ':'); i > 0 && !strings.ContainsRune(s[:i], '/') {
		// A single letter before ":" is a Windows drive, not a host.
		if !(i == 1 && filepath.VolumeName(s) != "") {
			return urlSCP, ""
		}
	}
	return urlLocal, ""
}

func validScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// splitAuthority splits a URL with a scheme or an SCP-like URL into the
// part before the authority ("https://" or ""), the user-info (with its
// "@", possibly empty), the host part and the rest.
func splitAuthority(s string) (prefix, userinfo, host, rest string) {
	kind, scheme := classifyURL(s)
	switch kind {
	case urlScheme:
		prefix = scheme + "://"
		auth := s[len(prefix):]
		end := strings.IndexAny(auth, "/?#")
		if end < 0 {
			end = len(auth)
		}
		auth, rest = auth[:end], auth[end:]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			return prefix, auth[:at+1], auth[at+1:], rest
		}
		return prefix, "", auth, rest
	case urlSCP:
		colon := strings.IndexByte(s, ':')
		auth := s[:colon]
		rest = s[colon:]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			return "", auth[:at+1], auth[at+1:], rest
		}
		return "", "", auth, rest
	}
	return "", "", "", s
}

// stripUserInfo removes the user-info of a URL.
func stripUserInfo(s string) string {
	prefix, _, host, rest := splitAuthority(s)
	return prefix + host + rest
}

// displayURL shows a URL with its user-info replaced by ***.
func displayURL(s string) string {
	prefix, userinfo, host, rest := splitAuthority(s)
	if userinfo == "" {
		return s
	}
	return prefix + "***@" + host + rest
}

// trimURLSlash removes trailing slashes from the path of a URL (never the
// slashes of "scheme://").
func trimURLSlash(s string) string {
	prefix, userinfo, host, rest := splitAuthority(s)
	if prefix == "" && host == "" {
		return strings.TrimRight(s, "/")
	}
	return prefix + userinfo + host + strings.TrimRight(rest, "/")
}

// validateSupportFile checks a support file path (docs/store-format.md §11.6).
func validateSupportFile(p string) error {
	bad := func(why string) error { return fmt.Errorf("invalid support file path %q: %s", p, why) }
	switch {
	case p == "":
		return bad("empty path")
	case !utf8.ValidString(p):
		return bad("not valid UTF-8")
	case strings.ContainsFunc(p, unicode.IsControl):
		return bad("control character")
	case strings.ContainsRune(p, '\\'):
		return bad(`backslash (use "/")`)
	case strings.HasPrefix(p, "/"):
		return bad("must be relative")
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad(fmt.Sprintf("%q segment", seg))
		}
	}
	switch {
	case p == "refs" || strings.HasPrefix(p, "refs/"):
		return bad("refs/ holds the documents")
	case strings.HasPrefix(p, ".ocuroot-"):
		return bad("names starting with .ocuroot- are reserved")
	}
	return nil
}
