//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// applyLock is the file every engine command holds for its whole run
// (docs/store-format.md §9.1).
const applyLock = ".ocuroot-apply.lock"

// ApplyLocker is a store holding the apply lock of its repo: the state store.
type ApplyLocker interface {
	// LockApply takes the apply lock, waiting up to wait when another
	// process holds it; busy after that → an error with code E_LOCKED.
	// holder ("pid=… host=… since=…") is written into the lock file for
	// the busy message of others. The returned function releases the lock.
	LockApply(ctx context.Context, wait time.Duration, holder string) (unlock func(), err error)
}

// LockApply implements ApplyLocker with flock(2) on <base>/.ocuroot-apply.lock,
// compatible with flock(1). Holding it, it completes (or rolls back) the
// transactions a crashed writer left unfinished, so the engine never acts
// on half a transaction.
func (s *FS) LockApply(ctx context.Context, wait time.Duration, holder string) (func(), error) {
	if err := os.MkdirAll(s.tree.base, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, filepath.Join(s.tree.base, applyLock), wait, holder)
	if err != nil {
		return nil, err
	}
	if err := s.Recover(ctx); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// recoverer is a store that can complete unfinished transactions.
type recoverer interface {
	Recover(ctx context.Context) error
}

// lockFile takes an exclusive flock on path, polling until wait has passed.
func lockFile(ctx context.Context, path string, wait time.Duration, holder string) (func(), error) {
	f, err := openControl(path, unix.O_RDWR|unix.O_CREAT)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !time.Now().Before(deadline) {
			f.Close()
			return nil, busy(path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if holder != "" {
		if err := f.Truncate(0); err == nil {
			f.WriteAt([]byte(holder+"\n"), 0)
		}
	}
	return func() {
		f.Truncate(0)
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

// busy is the E_LOCKED error naming the holder written in the lock file.
func busy(path string) error {
	msg := "another ocu-apply holds " + path
	if b, err := readControl(path); err == nil {
		if line := strings.TrimSpace(string(b)); strings.HasPrefix(line, "pid=") {
			msg += " (" + line + ")"
		}
	}
	return &Error{Code: ELocked, Msg: msg, Err: errors.New("busy")}
}

// LockApply implements ApplyLocker for the pair: the apply lock belongs to
// the state store; unfinished transactions of both stores are completed.
func (c *Combined) LockApply(ctx context.Context, wait time.Duration, holder string) (func(), error) {
	l, ok := c.State.(ApplyLocker)
	if !ok {
		return nil, fmt.Errorf("the state store %v has no apply lock", c.State)
	}
	unlock, err := l.LockApply(ctx, wait, holder)
	if err != nil {
		return nil, err
	}
	// The state store recovered in its LockApply; the intent store too.
	if r, ok := c.Intent.(recoverer); ok && !c.single() {
		if err := r.Recover(ctx); err != nil {
			unlock()
			return nil, err
		}
	}
	return unlock, nil
}
