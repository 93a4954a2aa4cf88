package config

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// defaultPorts are the ports dropped by NormalizeURL.
var defaultPorts = map[string]string{
	"http":  "80",
	"https": "443",
	"ssh":   "22",
	"git":   "9418",
}

// NormalizeURL turns a git remote URL into a repo name (docs/engine.md §1.3), in
// order: trim white space; SCP form [user@]host:path → ssh://[user@]host/path;
// a bare local path → absolute path (relative paths resolved against root);
// drop scheme, user-info, query and fragment; keep a non-default port;
// remove trailing "/", then a trailing ".git", then trailing "/"; join
// host + "/" + path without leading "/" (no host: the path without leading
// "/"). The host keeps its case, as the original Ocuroot client keeps it,
// so that both name a repository the same way.
//
//	https://github.com/ocuroot/example.git        github.com/ocuroot/example
//	git@github.com:ocuroot/example.git            github.com/ocuroot/example
//	git@GitHub.com:OcuRoot/Example.git            GitHub.com/OcuRoot/Example
//	ssh://git@git.example.com:2222/team/app.git   git.example.com:2222/team/app
//	../example.git (root /src/app)                src/example
//
// The result is not validated as a repo name.
func NormalizeURL(raw, root string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("empty URL")
	}
	kind, scheme := classifyURL(s)
	switch kind {
	case urlSCP:
		colon := strings.IndexByte(s, ':')
		s = "ssh://" + s[:colon] + "/" + strings.TrimPrefix(s[colon+1:], "/")
		scheme = "ssh"
	case urlLocal:
		p := s
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		return joinHostPath("", filepath.ToSlash(filepath.Clean(p))), nil
	}

	rest := s[len(scheme)+len("://"):]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	host, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	if h, port, ok := splitPort(host); ok && port == defaultPorts[strings.ToLower(scheme)] {
		host = h
	}
	return joinHostPath(host, path), nil
}

// OverrideRepoName returns the repo name given by a repo URL override
// (--repo-url-override, OCU_REPO_URL_OVERRIDE): the override itself, with
// its path cleaned (repeated "/" collapsed, "." and ".." resolved, trailing
// "/" removed), not a normalised URL. This is the original Ocuroot client's
// rule, under which existing state is named:
//
//	https://github.com/Org/Repo.git   https:/github.com/Org/Repo.git
//	example.com/team/app/             example.com/team/app
//
// The result is not validated as a repo name.
func OverrideRepoName(override string) string {
	return path.Clean(override)
}

// splitPort splits "host:port" (also "[v6]:port").
func splitPort(host string) (string, string, bool) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.LastIndexByte(host, ']') > i {
		return host, "", false
	}
	return host[:i], host[i+1:], true
}

// joinHostPath trims the path (trailing "/", ".git", "/") and joins it to
// the host.
func joinHostPath(host, path string) string {
	path = strings.TrimRight(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimRight(path, "/")
	path = strings.TrimLeft(path, "/")
	switch {
	case host == "":
		return path
	case path == "":
		return host
	}
	return host + "/" + path
}
