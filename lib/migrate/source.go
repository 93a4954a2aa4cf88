package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/ocu-team/ocu/lib/store"
)

// Files are the files of a store location: path from the location's root
// ('/'-separated) → content. Only version files and @object.json envelopes
// matter; other files (support files, a README) are ignored.
type Files map[string][]byte

const (
	versionFile = ".ocuroot-store"
	objectFile  = "@object.json"
)

// ReadFS reads the store files below the folder of fsys: version files and
// envelopes, nothing else. Symbolic links are not followed. A missing
// folder has no files.
func ReadFS(fsys fs.FS) (Files, error) {
	files := Files{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if name := path.Base(p); name != versionFile && name != objectFile {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = data
		return nil
	})
	return files, err
}

// Source is one store of a later format, read into memory.
type Source struct {
	Version int
	// Role is what the version file of format 3 says the store holds,
	// "state" or "intent"; "" when it does not say.
	Role string
	// Objects are the stored envelopes by ref (the folder path below
	// refs/, verbatim).
	Objects map[string]Object
}

// Object is one stored envelope. Back-references are not kept: the
// destination store recomputes them.
type Object struct {
	Link bool
	Body json.RawMessage // a link's body is its target, a JSON string
}

// Target returns a link's target ref.
func (o Object) Target() string {
	var s string
	json.Unmarshal(o.Body, &s)
	return s
}

// ErrFormat1 refuses a source that already is in format 1.
var ErrFormat1 = errors.New("already format 1; nothing to migrate")

// Split finds the stores a location holds: a store of its own (a version
// file at its root), or the later single-store layout (state/ and intent/
// below the root, each with a version file). intent is nil when the
// location holds a state store only. A location of format 1 is ErrFormat1;
// a location with no store, or a format other than 2 or 3, is an error.
func Split(files Files) (state, intent *Source, err error) {
	if data, ok := files[versionFile]; ok {
		s, err := parse(files, "", data)
		return s, nil, err
	}
	sd, sok := files["state/"+versionFile]
	id, iok := files["intent/"+versionFile]
	switch {
	case sok || iok:
		if sok {
			if state, err = parse(files, "state/", sd); err != nil {
				return nil, nil, fmt.Errorf("state/: %w", err)
			}
		}
		if iok {
			if intent, err = parse(files, "intent/", id); err != nil {
				return nil, nil, fmt.Errorf("intent/: %w", err)
			}
		}
		if state == nil {
			return nil, nil, errors.New("intent/ without state/: not a store of Ocuroot 0.3.11 or later")
		}
		return state, intent, nil
	}
	for p := range files {
		if strings.HasPrefix(p, "refs/") {
			return nil, nil, ErrFormat1 // no version file: format 1
		}
	}
	return nil, nil, errors.New("no store here (no .ocuroot-store and no refs/)")
}

// parse reads the store below prefix whose version file holds data.
func parse(files Files, prefix string, data []byte) (*Source, error) {
	n, ok := store.FormatVersion(data)
	switch {
	case !ok:
		return nil, fmt.Errorf("unreadable version file %s%s", prefix, versionFile)
	case n == 1:
		return nil, ErrFormat1
	case n != 2 && n != 3:
		return nil, fmt.Errorf("store format %s is not one ocuroot state migrate reads (2 and 3: Ocuroot 0.3.11 to 0.3.17-1)", strings.TrimSpace(string(data)))
	}
	s := &Source{Version: n, Objects: map[string]Object{}}
	var head struct{ Tags map[string]json.RawMessage }
	if json.Unmarshal(data, &head) == nil && len(head.Tags) == 1 {
		for role := range head.Tags {
			s.Role = role
		}
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		rel, ok := strings.CutPrefix(p, prefix+"refs/")
		if !ok {
			continue
		}
		r, ok := strings.CutSuffix(rel, "/"+objectFile)
		if !ok {
			continue
		}
		var env struct {
			Kind string          `json:"kind"`
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(files[p], &env); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		o := Object{Body: env.Body}
		switch env.Kind {
		case "ref":
		case "link":
			o.Link = true
			var t string
			if err := json.Unmarshal(env.Body, &t); err != nil {
				return nil, fmt.Errorf("%s: link body is not a string", p)
			}
		default:
			return nil, fmt.Errorf("%s: unknown kind %q", p, env.Kind)
		}
		if len(o.Body) == 0 {
			o.Body = json.RawMessage("null")
		}
		s.Objects[r] = o
	}
	return s, nil
}
