//go:build unix && !linux

package store

import (
	"context"
	"errors"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// ReadLog is not kept on this system: LogReads refuses it.
type ReadLog struct{}

// NewReadLog returns a log no store keeps here.
func NewReadLog() *ReadLog { return &ReadLog{} }

func (l *ReadLog) found(string, *unix.Stat_t) {}
func (l *ReadLog) absent(string)              {}
func (l *ReadLog) spoil(string)               {}

// Spoiled says the log was never kept.
func (l *ReadLog) Spoiled() string { return "reads are logged on Linux only" }

// Len is 0.
func (l *ReadLog) Len() int { return 0 }

// Newest is the zero time.
func (l *ReadLog) Newest() time.Time { return time.Time{} }

// Unchanged is false: nothing was recorded.
func (l *ReadLog) Unchanged(context.Context) (bool, error) { return false, nil }

// WriteTo refuses.
func (l *ReadLog) WriteTo(io.Writer) (int64, error) {
	return 0, errors.New("reads are logged on Linux only")
}

// ParseReadLog refuses.
func ParseReadLog(io.Reader) (*ReadLog, error) {
	return nil, errors.New("reads are logged on Linux only")
}

// LogReads refuses: read logs are kept on Linux only.
func (s *FS) LogReads(*ReadLog) bool { return false }

// LogReads refuses: read logs are kept on Linux only.
func (c *Combined) LogReads(*ReadLog) bool { return false }
