//go:build linux

package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocu-team/ocu/internal/fanout"
)

// A ReadLog records what the reads of folder stores consulted while it is
// attached (FS.LogReads): each file read and each folder listed, with its
// identity, and each lookup that found nothing. A later process tells with
// one lstat per entry that all of them are as they were (Unchanged), which
// is what remembering an idle run needs (docs/open-work.md §10). An
// operation it cannot account for (a walk, a write, a read that failed)
// spoils it.
type ReadLog struct {
	mu      sync.Mutex
	ids     map[string]fileID // absolute path → identity
	spoiled string
}

// fileID is what lstat says of a path that a reader depends on.
type fileID struct {
	Absent       bool   // nothing there (ENOENT, or a file where a folder was expected)
	Mode         uint32 // type and permissions
	Ino, Size    uint64
	Mtime, Ctime int64 // nanoseconds since 1970
}

// NewReadLog returns an empty log.
func NewReadLog() *ReadLog { return &ReadLog{ids: map[string]fileID{}} }

func identity(st *unix.Stat_t) fileID {
	return fileID{Mode: uint32(st.Mode), Ino: st.Ino, Size: uint64(st.Size), Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

// found records the identity of path, as fstat gave it.
func (l *ReadLog) found(path string, st *unix.Stat_t) { l.add(path, identity(st)) }

// absent records that nothing is at path.
func (l *ReadLog) absent(path string) { l.add(path, fileID{Absent: true}) }

// add records id for path; a path found with another identity before
// changed while the reads went on, and what they decided may rest on both.
func (l *ReadLog) add(path string, id fileID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if was, ok := l.ids[path]; ok && was != id && l.spoiled == "" {
		l.spoiled = path + " changed while it was read"
	}
	l.ids[path] = id
}

// spoil marks the log as not to be trusted, for why.
func (l *ReadLog) spoil(why string) {
	l.mu.Lock()
	if l.spoiled == "" {
		l.spoiled = why
	}
	l.mu.Unlock()
}

// Spoiled says why the log cannot be trusted, or "".
func (l *ReadLog) Spoiled() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spoiled
}

// Len is the number of paths recorded.
func (l *ReadLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}

// Newest is the latest modification or change time recorded: a log whose
// newest time is close to when the reads began may describe a file changed
// again within the same tick of the file system's clock (docs/open-work.md
// §7), and must not be trusted later.
func (l *ReadLog) Newest() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, id := range l.ids {
		n = max(n, id.Mtime, id.Ctime)
	}
	return time.Unix(0, n)
}

// Unchanged reports whether every path recorded still has the identity
// recorded (lstat, a few at a time). It fails only when ctx is done.
func (l *ReadLog) Unchanged(ctx context.Context) (bool, error) {
	l.mu.Lock()
	paths := slices.Collect(maps.Keys(l.ids))
	l.mu.Unlock()
	var changed atomic.Bool // one change answers: the rest need no lstat
	fanout.Each(len(paths), 4, func(i int) {
		if changed.Load() || ctx.Err() != nil {
			return
		}
		var st unix.Stat_t
		var now fileID
		switch err := unix.Lstat(paths[i], &st); {
		case err == nil:
			now = identity(&st)
		case err == unix.ENOENT || err == unix.ENOTDIR:
			now = fileID{Absent: true}
		default:
			changed.Store(true) // unreadable: changed, as far as anyone can tell
			return
		}
		if now != l.ids[paths[i]] {
			changed.Store(true)
		}
	})
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return !changed.Load(), nil
}

// WriteTo writes the log as lines: "path\tabsent" or
// "path\tmode ino size mtime ctime", sorted. A spoiled log cannot be
// written.
func (l *ReadLog) WriteTo(w io.Writer) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.spoiled != "" {
		return 0, errors.New("the read log is spoiled: " + l.spoiled)
	}
	bw := bufio.NewWriter(w)
	for _, p := range slices.Sorted(maps.Keys(l.ids)) {
		id := l.ids[p]
		if id.Absent {
			fmt.Fprintf(bw, "%s\tabsent\n", p)
		} else {
			fmt.Fprintf(bw, "%s\t%d %d %d %d %d\n", p, id.Mode, id.Ino, id.Size, id.Mtime, id.Ctime)
		}
	}
	return 0, bw.Flush()
}

// ParseReadLog reads what WriteTo wrote.
func ParseReadLog(r io.Reader) (*ReadLog, error) {
	l := NewReadLog()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		p, rest, ok := strings.Cut(sc.Text(), "\t")
		if !ok || !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("read log line %d: not a path and an identity", n)
		}
		if rest == "absent" {
			l.ids[p] = fileID{Absent: true}
			continue
		}
		f := strings.Fields(rest)
		var v [5]uint64
		if len(f) != len(v) {
			return nil, fmt.Errorf("read log line %d: not a path and an identity", n)
		}
		for i := range f {
			var err error
			if v[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
				return nil, fmt.Errorf("read log line %d: %w", n, err)
			}
		}
		l.ids[p] = fileID{Mode: uint32(v[0]), Ino: v[1], Size: v[2], Mtime: int64(v[3]), Ctime: int64(v[4])}
	}
	return l, sc.Err()
}

// LogReads attaches l to the store's reads from now on (nil detaches the
// log attached), after dropping what the store remembers of earlier reads,
// so that every read consults the files. It reports whether the store
// keeps such logs: a folder store on Linux does.
func (s *FS) LogReads(l *ReadLog) bool {
	s.reader.forget()
	s.tree.log.Store(l)
	return true
}

// LogReads is FS.LogReads for both stores, when both are folders.
func (c *Combined) LogReads(l *ReadLog) bool {
	st, ok1 := c.State.(*FS)
	in, ok2 := c.Intent.(*FS)
	if !ok1 || !ok2 {
		return false
	}
	st.LogReads(l)
	if in != st {
		in.LogReads(l)
	}
	return true
}

// ReadLogger is implemented by the stores that keep read logs: *FS and
// *Combined, on Linux, when every store in them is a folder.
type ReadLogger interface {
	// LogReads attaches l (nil detaches), or reports false when the store
	// cannot keep it.
	LogReads(l *ReadLog) bool
}

var (
	_ ReadLogger = (*FS)(nil)
	_ ReadLogger = (*Combined)(nil)
)
