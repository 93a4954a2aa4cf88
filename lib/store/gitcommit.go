//go:build unix

package store

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
)

// treeEdit is a set of file changes below one folder of a tree.
type treeEdit struct {
	files map[string][]byte // name → new content; nil removes the file
	dirs  map[string]*treeEdit
}

func newTreeEdit() *treeEdit {
	return &treeEdit{files: map[string][]byte{}, dirs: map[string]*treeEdit{}}
}

// set records the new content of the file at the '/'-separated path; nil
// data removes it.
func (e *treeEdit) set(path string, data []byte) {
	dir, name, nested := strings.Cut(path, "/")
	if !nested {
		e.files[path] = data
		return
	}
	sub := e.dirs[dir]
	if sub == nil {
		sub = newTreeEdit()
		e.dirs[dir] = sub
	}
	sub.set(name, data)
}

// applyEdits returns the tree that is tree h with edit e applied, adding
// the new trees and blobs to b. Only the trees on changed paths are
// rewritten; a folder left empty disappears (zero hash).
func (r *gitRepo) applyEdits(b *objectBatch, h plumbing.Hash, e *treeEdit) (plumbing.Hash, error) {
	old, err := r.tree(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	entries := make([]gitEntry, 0, len(old)+len(e.files)+len(e.dirs))
	changed := false
	for _, c := range old {
		if _, ok := e.files[c.name]; ok {
			changed = true
			continue // replaced or removed below
		}
		if sub, ok := e.dirs[c.name]; ok {
			base := plumbing.ZeroHash
			if c.isTree() {
				base = c.hash
			}
			nh, err := r.applyEdits(b, base, sub)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if nh != c.hash || !c.isTree() {
				changed = true
			}
			if !nh.IsZero() {
				entries = append(entries, gitEntry{name: c.name, mode: modeTree, hash: nh})
			}
			continue
		}
		entries = append(entries, c)
	}
	have := map[string]bool{}
	for _, c := range old {
		have[c.name] = true
	}
	for name, data := range e.files {
		if data == nil {
			continue
		}
		changed = true
		entries = append(entries, gitEntry{name: name, mode: modeBlob, hash: b.add(plumbing.BlobObject, data)})
	}
	for name, sub := range e.dirs {
		if have[name] {
			continue
		}
		nh, err := r.applyEdits(b, plumbing.ZeroHash, sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !nh.IsZero() {
			changed = true
			entries = append(entries, gitEntry{name: name, mode: modeTree, hash: nh})
		}
	}
	if !changed {
		return h, nil
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	return b.add(plumbing.TreeObject, encodeTree(entries)), nil
}

// signature is the identity and time of a commit's author and committer.
type signature struct {
	name, email string
	when        time.Time
}

func (s signature) encode() string {
	clean := func(v string) string {
		return strings.Map(func(r rune) rune {
			switch r {
			case '<', '>', '\n', '\r', 0:
				return -1
			}
			return r
		}, strings.TrimSpace(v))
	}
	return fmt.Sprintf("%s <%s> %d %s", clean(s.name), clean(s.email), s.when.Unix(), s.when.Format("-0700"))
}

// encodeCommit returns the content of a commit object.
func encodeCommit(tree plumbing.Hash, parents []plumbing.Hash, sig signature, message string) []byte {
	var b strings.Builder
	b.WriteString("tree " + tree.String() + "\n")
	for _, p := range parents {
		b.WriteString("parent " + p.String() + "\n")
	}
	id := sig.encode()
	b.WriteString("author " + id + "\n")
	b.WriteString("committer " + id + "\n\n")
	b.WriteString(message)
	if !strings.HasSuffix(message, "\n") {
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// maxSubject bounds the first line of a commit message, in characters.
const maxSubject = 100

// commitMessage returns "ocu: <name>", cut to maxSubject characters with
// "…", a blank line, then lines.
func commitMessage(name string, lines []string) string {
	subject := "ocu: " + strings.Join(strings.Fields(name), " ")
	if utf8.RuneCountInString(subject) > maxSubject {
		r := []rune(subject)
		subject = string(r[:maxSubject-1]) + "…"
	}
	if len(lines) == 0 {
		return subject + "\n"
	}
	return subject + "\n\n" + strings.Join(lines, "\n") + "\n"
}

// opLines are the lines of a transaction's operations in a commit message.
func opLines(tx *Tx) []string {
	lines := make([]string, 0, len(tx.Ops))
	for _, op := range tx.Ops {
		lines = append(lines, op.String())
	}
	return lines
}

// createSubject is the subject of the root commit that creates a store
// branch.
const createSubject = "ocu: create store"
