package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// killDelay is how long an interrupted command has between SIGTERM and
// SIGKILL (engine.md §15); it also bounds the wait for output pipes held
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
	environ := slices.Clone(h.Environ)
	if environ == nil {
		environ = []string{} // never nil: exec would inherit os.Environ()
	}
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
		out.log = func(stream int, line string) {
			h.Log(LogLine{Stream: stream, Text: h.Secrets.Mask(line), Pos: pos, Thread: thread.Name})
		}
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

// shellOutput collects the output of one command: each stream, both
// interleaved in arrival order, and complete lines for the log.
type shellOutput struct {
	mu                       sync.Mutex
	stdout, stderr, combined bytes.Buffer
	partial                  [3][]byte // unfinished line per stream
	log                      func(stream int, line string)
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
	if o.log != nil {
		buf := append(o.partial[w.stream], p...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			o.log(w.stream, strings.TrimSuffix(string(buf[:i]), "\r"))
			buf = buf[i+1:]
		}
		o.partial[w.stream] = slices.Clone(buf)
	}
	return len(p), nil
}

// flush logs unfinished last lines.
func (o *shellOutput) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.log == nil {
		return
	}
	for _, stream := range []int{StreamStdout, StreamStderr} {
		if len(o.partial[stream]) > 0 {
			o.log(stream, strings.TrimSuffix(string(o.partial[stream]), "\r"))
			o.partial[stream] = nil
		}
	}
}
