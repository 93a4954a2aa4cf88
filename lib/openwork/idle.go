package openwork

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ocu-team/ocu/lib/store"
)

// The idle memo (docs/open-work.md §10): beside the index of a folder
// store, what the last run that found nothing to do and printed nothing
// read — the identity of every file and folder its reads consulted — under
// a key naming what else it decided on. A run with the same key whose
// files are all unchanged would do the same nothing, so it need not read
// them. Like the index, the memo is derived and never required.

// idleMagic is the memo file's first line.
const idleMagic = "ocu-idle\t1"

// idlePath is the memo file, "" when the index has no file of its own.
func (x *Index) idlePath() string {
	if x.info.Path == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(x.info.Path), "idle")
}

// IdleKey returns the key of a run made now on the refreshed index, from
// the store's identity, its change position, the refs the index lists and
// what the caller adds (repo, commit, options). ok is false when a run
// cannot be remembered: no memo file for this store, or open work (a
// pending or running function, a check_envs task), whose handling depends
// on more than the files read.
func (x *Index) IdleKey(extra ...string) (key string, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded || x.idlePath() == "" || slices.ContainsFunc(x.refs, isOpenMarker) {
		return "", false
	}
	h := sha256.New()
	for _, part := range [][]string{{idleMagic, x.info.Identity, x.pos}, extra, x.refs} {
		for _, s := range part {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// IdleHolds reports whether the memo was written under key and, for a
// folder store, every file and folder it records is unchanged. A missing or
// damaged memo does not hold.
func (x *Index) IdleHolds(ctx context.Context, key string) (bool, error) {
	x.mu.Lock()
	path := x.idlePath()
	x.mu.Unlock()
	if path == "" || key == "" {
		return false, nil
	}
	data, err := readFile(path)
	if err != nil {
		return false, nil
	}
	head, rest, _ := bytes.Cut(data, []byte("\n"))
	keyLine, rest, _ := bytes.Cut(rest, []byte("\n"))
	if string(head) != idleMagic || string(keyLine) != "key\t"+key {
		return false, nil
	}
	if x.pinned() {
		return true, nil // the key names the commits every read comes from
	}
	log, err := store.ParseReadLog(bytes.NewReader(rest))
	if err != nil || log.Len() == 0 {
		return false, nil
	}
	return log.Unchanged(ctx)
}

// SaveIdle remembers a run made under key that found nothing to do and
// printed nothing, with the log of its reads, begun at started. A spoiled
// log, or one holding a file changed less than RacyWindow before started
// (it may change again unseen within the file system's clock tick,
// docs/open-work.md §7), removes the memo instead. A git store needs no
// log: its key names the commits of everything the run read.
func (x *Index) SaveIdle(key string, log *store.ReadLog, started time.Time) error {
	x.mu.Lock()
	path, racy := x.idlePath(), x.opts.RacyWindow
	x.mu.Unlock()
	if path == "" {
		return nil
	}
	if key == "" {
		return x.ForgetIdle()
	}
	b := bytes.NewBufferString(idleMagic + "\nkey\t" + key + "\n")
	if x.pinned() {
		return writeFile(path, b.Bytes())
	}
	if log == nil || log.Spoiled() != "" || log.Len() == 0 || !log.Newest().Before(started.Add(-racy)) {
		return x.ForgetIdle()
	}
	if _, err := log.WriteTo(b); err != nil {
		return x.ForgetIdle()
	}
	return writeFile(path, b.Bytes())
}

// pinned reports whether the store's content is named by its change
// position: a git store, whose reads come from the commit the index names.
func (x *Index) pinned() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.info.AllWriters
}

// ForgetIdle removes the memo: the last run did something, or what it
// read cannot be remembered.
func (x *Index) ForgetIdle() error {
	x.mu.Lock()
	path := x.idlePath()
	x.mu.Unlock()
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
