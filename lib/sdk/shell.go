package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// killDelay is how long an interrupted command has between SIGTERM and
// SIGKILL (docs/engine.md §15); it also bounds the wait for output pipes held
// open by background processes once the command itself has exited.
const killDelay = 10 * time.Second

// shell implements host.shell(command, shell="sh", dir=".", env={},
// mute=False, continue_on_error=False).
func (h *Host) shell(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		command         string
		shellName       = "sh"
		dir             = "."
		env             *starlark.Dict
		mute            bool
		continueOnError bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs,
		"command", &command, "shell?", &shellName, "dir?", &dir, "env?", &env,
		"mute?", &mute, "continue_on_error?", &continueOnError); err != nil {
		return nil, err
	}
	environ := withoutCredentials(h.Environ) // never nil: exec would inherit os.Environ()
	if env != nil {
		for _, item := range env.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: env keys must be strings, got %s", b.Name(), item[0].Type())
			}
			v, ok := item[1].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: env[%q] must be a string, got %s", b.Name(), string(k), item[1].Type())
			}
			if k == "" || strings.ContainsAny(string(k), "=\x00") {
				return nil, fmt.Errorf("%s: invalid environment variable name %q", b.Name(), string(k))
			}
			environ = append(environ, string(k)+"="+string(v))
		}
	}

	wd := h.path(dir)
	if fi, err := os.Stat(wd); err != nil {
		return nil, fmt.Errorf("%s: dir %s: %v", b.Name(), dir, errors.Unwrap(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s: dir %s: not a directory", b.Name(), dir)
	}

	ctx := threadContext(thread)
	cmd := exec.CommandContext(ctx, shellName, "-c", command)
	cmd.Dir = wd
	cmd.Env = environ
	cmd.WaitDelay = killDelay
	setProcessGroup(cmd)

	out := &shellOutput{}
	if !mute && h.Log != nil {
		pos, _ := CallerPos(thread)
		out.logTo(h.Secrets, func(stream int, line string) {
			h.Log(LogLine{Stream: stream, Text: line, Pos: pos, Thread: thread.Name})
		})
	}
	cmd.Stdout = &streamWriter{out: out, stream: StreamStdout}
	cmd.Stderr = &streamWriter{out: out, stream: StreamStderr}

	runErr := cmd.Run()
	out.flush()

	exitCode := 0
	if runErr != nil {
		var exitErr *exec.ExitError
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("command interrupted: %v", context.Cause(ctx))
		case errors.As(runErr, &exitErr):
			exitCode = exitErr.ExitCode()
			if exitCode < 0 {
				return nil, fmt.Errorf("command terminated: %v", exitErr)
			}
		case errors.Is(runErr, exec.ErrWaitDelay):
			// The command succeeded; a background process kept its output open.
		default:
			return nil, fmt.Errorf("%s: cannot run %s: %v", b.Name(), shellName, runErr)
		}
	}
	if exitCode != 0 && !continueOnError {
		return nil, fmt.Errorf("command exited with status %d", exitCode)
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"stdout":          starlark.String(out.stdout.String()),
		"stderr":          starlark.String(out.stderr.String()),
		"combined_output": starlark.String(out.combined.String()),
		"exit_code":       starlark.MakeInt(exitCode),
	}), nil
}

// MaxLogLine is the longest log line host.shell hands to Host.Log: a longer
// output line is logged in pieces of at most this many bytes.
const MaxLogLine = 64 << 10

// shellOutput collects the output of one command: each stream, both
// interleaved in arrival order, and, for the log, each stream masked as a
// whole and cut into lines.
type shellOutput struct {
	mu                       sync.Mutex
	stdout, stderr, combined bytes.Buffer
	log                      [3]*MaskWriter // per stream; nil when not logged
}

// logTo makes o mask each stream with secrets and hand its lines to log.
func (o *shellOutput) logTo(secrets *Secrets, log func(stream int, line string)) {
	for _, stream := range []int{StreamStdout, StreamStderr} {
		lines := &lineWriter{emit: func(line string) { log(stream, line) }}
		o.log[stream] = &MaskWriter{Secrets: secrets, W: lines}
	}
}

type streamWriter struct {
	out    *shellOutput
	stream int
}

func (w *streamWriter) Write(p []byte) (int, error) {
	o := w.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if w.stream == StreamStdout {
		o.stdout.Write(p)
	} else {
		o.stderr.Write(p)
	}
	o.combined.Write(p)
	if m := o.log[w.stream]; m != nil {
		_, _ = m.Write(p) // a lineWriter never fails
	}
	return len(p), nil
}

// flush logs what the streams held back and their unfinished last lines.
func (o *shellOutput) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.log {
		if m != nil {
			_ = m.Flush()
			m.W.(*lineWriter).flush()
		}
	}
}

// lineWriter cuts a stream into lines (without "\n" or a final "\r") and
// hands each to emit; a line longer than MaxLogLine is handed over in
// pieces as it arrives, so it never holds more than one piece.
type lineWriter struct {
	partial []byte
	emit    func(line string)
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			p = nil
		} else {
			l.partial = append(l.partial, p[:i]...)
			p = p[i+1:]
		}
		for len(l.partial) > MaxLogLine {
			cut := pieceEnd(l.partial, MaxLogLine)
			l.emit(string(l.partial[:cut]))
			l.partial = l.partial[:copy(l.partial, l.partial[cut:])]
		}
		if i >= 0 {
			l.emit(strings.TrimSuffix(string(l.partial), "\r"))
			l.partial = l.partial[:0]
		}
	}
	return n, nil
}

// flush hands over an unfinished last line.
func (l *lineWriter) flush() {
	if len(l.partial) > 0 {
		l.emit(strings.TrimSuffix(string(l.partial), "\r"))
		l.partial = l.partial[:0]
	}
}

// pieceEnd returns where to cut b to at most n bytes without splitting a
// UTF-8 sequence (unless b holds no valid boundary there).
func pieceEnd(b []byte, n int) int {
	for cut := n; cut > n-utf8.UTFMax && cut > 0; cut-- {
		if utf8.RuneStart(b[cut]) {
			return cut
		}
	}
	return n
}
