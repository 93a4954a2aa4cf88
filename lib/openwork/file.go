package openwork

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ocu-team/ocu/lib/store"
)

// The index file (docs/open-work.md §4): a header of tab-separated fields,
// then one line per finished release, sorted: its folder, its stamp when
// watched (hex, empty if none), "failed" if it holds a failed marker (or
// empty), and what it keeps, tab-separated.
//
//	ocu-open-work	1
//	identity	<store identity>
//	position	<change position>
//	full	<unix nanoseconds of the last full walk>
//	named	<release folders named by intents and deployments, space-separated>
//	releases	<count>
//	example/-/app.ocu.star/@1	9c1f…		commit/<H>	custom/approval
const fileMagic = "ocu-open-work\t1"

// maxFile bounds the index file read (a million releases take about 100 MB).
const maxFile = 512 << 20

// readFile reads a file of the index's folder: a regular file (openRegular)
// of at most maxFile bytes.
func readFile(path string) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxFile {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, maxFile>>20)
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}

// load reads the index file into x; an index that is missing, unreadable,
// of another version or of another store leaves x empty (a full walk).
func (x *Index) load() {
	if x.info.Path == "" {
		return
	}
	data, err := readFile(x.info.Path)
	if err != nil {
		return
	}
	pos, full, named, finished, err := parseFile(string(data), x.info.Identity)
	if err != nil {
		return
	}
	x.savedSum = sha256.Sum256(data)
	for _, rel := range finished {
		x.gen++
		rel.gen = x.gen
	}
	x.pos, x.full, x.named, x.finished, x.saved = pos, full, named, finished, true
	x.latest = map[string]string{}
	for dir := range finished {
		x.noteLatest(dir)
	}
}

// openRegular opens a regular file without following a symbolic link and
// without waiting for a writer of a FIFO.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, errors.New("not a regular file")
	}
	return f, nil
}

// parseFile parses the content of an index file. The strings it keeps
// share content's memory: a million-release index loads with one
// allocation per release.
func parseFile(content, identity string) (pos string, full time.Time, named map[string]bool, finished map[string]*release, err error) {
	next := func() (string, bool) {
		line, rest, ok := strings.Cut(content, "\n")
		if !ok {
			return "", false // a file ends with a newline: this one was cut
		}
		content = rest
		return line, true
	}
	if line, ok := next(); !ok || line != fileMagic {
		return "", time.Time{}, nil, nil, errors.New("another version")
	}
	header := map[string]string{}
	for _, key := range []string{"identity", "position", "full", "named", "releases"} {
		line, _ := next()
		k, v, ok := strings.Cut(line, "\t")
		if !ok || k != key {
			return "", time.Time{}, nil, nil, fmt.Errorf("no %s in the header", key)
		}
		header[k] = v
	}
	if header["identity"] != identity || header["position"] == "" {
		return "", time.Time{}, nil, nil, errors.New("another store")
	}
	nanos, err := strconv.ParseInt(header["full"], 10, 64)
	if err != nil {
		return "", time.Time{}, nil, nil, err
	}
	count, err := strconv.Atoi(header["releases"])
	if err != nil || count < 0 {
		return "", time.Time{}, nil, nil, errors.New("bad count")
	}
	finished = make(map[string]*release, min(count, 1<<20))
	for content != "" {
		line, ok := next()
		if !ok {
			return "", time.Time{}, nil, nil, errors.New("truncated")
		}
		dir, rest, _ := strings.Cut(line, "\t")
		watch, rest, _ := strings.Cut(rest, "\t")
		failed, kept, ok := strings.Cut(rest, "\t")
		if !ok || dir == "" || store.ReleaseFolder(dir) != dir || (failed != "" && failed != "failed") {
			return "", time.Time{}, nil, nil, fmt.Errorf("bad release line %q", line)
		}
		rel := &release{kept: kept, failed: failed == "failed"}
		if watch != "" {
			if rel.watch, err = strconv.ParseUint(watch, 16, 64); err != nil {
				return "", time.Time{}, nil, nil, err
			}
		}
		finished[dir] = rel
	}
	if len(finished) != count {
		return "", time.Time{}, nil, nil, errors.New("truncated") // a torn copy
	}
	named = map[string]bool{}
	for d := range strings.FieldsSeq(header["named"]) {
		named[d] = true
	}
	return header["position"], time.Unix(0, nanos), named, finished, nil
}

// save writes the index file (writeFile), without fsync: after a crash the
// file is the previous one, or missing, and both are valid
// (docs/open-work.md §7). A folder that is a symbolic link is not written
// into.
func (x *Index) save() error {
	if x.info.Path == "" {
		return errors.New("no place for the index")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nidentity\t%s\nposition\t%s\nfull\t%d\nnamed\t%s\nreleases\t%d\n",
		fileMagic, x.info.Identity, x.pos, x.full.UnixNano(), strings.Join(slices.Sorted(maps.Keys(x.named)), " "), len(x.finished))
	dirs := make([]string, 0, len(x.finished))
	for d := range x.finished {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		rel := x.finished[d]
		b.WriteString(d)
		b.WriteByte('\t')
		if rel.watch != 0 {
			b.WriteString(strconv.FormatUint(rel.watch, 16))
		}
		b.WriteByte('\t')
		if rel.failed {
			b.WriteString("failed")
		}
		b.WriteByte('\t')
		b.WriteString(rel.kept)
		b.WriteByte('\n')
	}
	sum := sha256.Sum256(b.Bytes())
	if sum == x.savedSum {
		return nil // the file holds this already: a run that learnt nothing writes nothing
	}
	if err := writeFile(x.info.Path, b.Bytes()); err != nil {
		return err
	}
	x.savedSum = sum
	return nil
}

// writeFile writes a file of the index's folder (the index, the idle
// memo) as a temporary file renamed over it, readable by every user of the
// store. A missing folder is created only by the owner of the folder that
// holds it: made by another user (a viewer run as root), it would keep the
// store's writers from the change log beside the index.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		parent, err := os.Lstat(filepath.Dir(dir))
		if err != nil {
			return err
		}
		if st, ok := parent.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
			return fmt.Errorf("%s: not created: the folder holding it is another user's", dir)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	err = tmp.Chmod(0o644) // as the store's files: every user of the store reads it
	if err == nil {
		_, err = tmp.Write(data)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	removeStaleTemps(dir, time.Now().Add(-staleTemp))
	return nil
}

// tempPrefix names the index's temporary files; staleTemp is the age at
// which one is a crashed writer's, removed by the next write (as the
// store's writers do with theirs, docs/store-format.md §9.3).
const (
	tempPrefix = ".ocuroot-tmp-open-work-"
	staleTemp  = time.Hour
)

// removeStaleTemps removes the index's temporary files in dir last changed
// before before.
func removeStaleTemps(dir string, before time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(before) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
