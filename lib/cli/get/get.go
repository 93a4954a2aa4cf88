// Package get is ocu-get: it prints the documents at refs (docs/cli.md §2.1).
package get

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/itchyny/gojq"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

const synopsis = `
Usage: ocu-get [options] [REF...]

Ocu-get prints the JSON document at each REF, or the field its #fragment
names. Refs come from the arguments or, with none, one per line from stdin.
One argument prints pretty JSON; several arguments, refs from stdin or -c
print one compact line per value, in input order. A ref that cannot be read
is reported on stderr and the others are still printed; the exit code is
then 1 (2 if a ref was invalid).

Git stores keep history. --at WHEN reads them as of WHEN: ~N (N commits
before the tip), a time (2026-01-02T15:04:05Z) or a date (2026-01-02, its
start in UTC) — the last commit at or before it —, a tag, or a commit.
--history prints one line per commit that changed the document stored at
REF (no link followed), newest first: {"author", "commit", "time",
"value"}, with a null value where it was deleted and "link": true where a
link was stored; -q runs on each such line.

Each run of the -q query on one value is bounded: it stops after
--query-timeout, or when ocu-get's memory grows past --query-memory
mebibytes (a recursion such as 'def f: 1 + f; f' grows it without end);
a result nested deeper than 512 levels is refused. Such a value is
reported on stderr and the others are still printed (exit 1).
`

// Default bounds of one run of the query.
const (
	defaultQueryTimeout   = time.Minute
	defaultQueryMemoryMiB = 1024
)

type options struct {
	query   string
	limits  queryLimits
	withRef bool
	compact bool
	raw     bool
	which   bool
	at      string
	history bool
}

// Command returns the command ocu-get ("ocuroot state get" in the ocuroot
// tree).
func Command(sio cli.IO) *cli.Command {
	c := cli.NewCommand("ocu-get", synopsis, sio)
	var o options
	fs := c.Flags
	for _, name := range []string{"q", "query"} {
		fs.StringVar(&o.query, name, "", "run the jq `EXPR` on each value ($ref holds the ref)")
	}
	for _, name := range []string{"r", "with-ref"} {
		fs.BoolVar(&o.withRef, name, false, `print {"ref": REF, "value": VALUE} per value, one per line`)
	}
	for _, name := range []string{"c", "compact"} {
		fs.BoolVar(&o.compact, name, false, "print one compact line per value, even for one REF")
	}
	for _, name := range []string{"R", "raw"} {
		fs.BoolVar(&o.raw, name, false, "print strings without quotes")
	}
	for _, name := range []string{"w", "which"} {
		fs.BoolVar(&o.which, name, false, "print the ref actually read (links followed) instead of the value")
	}
	fs.DurationVar(&o.limits.timeout, "query-timeout", defaultQueryTimeout, "stop the query on a value after `DURATION` (0: never)")
	var memory int64
	fs.Int64Var(&memory, "query-memory", defaultQueryMemoryMiB, "stop the query when memory grows past `MIB` mebibytes (0: never)")
	fs.StringVar(&o.at, "at", "", "read git stores as of `WHEN` (~N, a time or date, a tag, a commit)")
	fs.BoolVar(&o.history, "history", false, "print every version of each document in a git store, newest first, one line each")
	c.Exec = func(ctx context.Context, refs []string) error {
		o.limits.memory = uint64(memory) << 20 // not negative: see cli.Parse
		if o.history && o.which {
			return cli.Finish(ctx, cli.ArgErrorf("-w and --history cannot be combined"))
		}
		return cli.Finish(ctx, run(ctx, c.Tool, o, refs))
	}
	return c
}

func run(ctx context.Context, t *cli.Tool, o options, refs []string) error {
	var code *gojq.Code
	if o.query != "" {
		q, err := gojq.Parse(o.query)
		if err == nil {
			code, err = gojq.Compile(q, gojq.WithVariables([]string{"$ref"}))
		}
		if err != nil {
			return cli.ArgErrorf("invalid query %q: %v", o.query, err)
		}
	}
	if len(refs) == 0 && cli.IsTerminal(t.Stdin) {
		return cli.UsageError(cli.ErrNoInput)
	}
	s, err := t.Open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	st := s.Store
	if o.at != "" {
		if st, err = s.At(ctx, o.at); err != nil {
			return err
		}
	}

	out := cli.NewOutput(t.Stdout)
	g := getter{errs: t.Errors(ctx), s: s, st: st, o: o, code: code, out: out, compact: o.compact || o.withRef || o.history || len(refs) != 1}
	if len(refs) > 0 {
		for _, in := range refs {
			if !g.get(ctx, in) {
				break
			}
		}
	} else if err := cli.Lines(ctx, t.Stdin, out.Flush, func(_ int, in string) bool { return g.get(ctx, in) }); err != nil && ctx.Err() == nil {
		g.errs.Addf("stdin", err)
	}
	if err := out.Flush(); err != nil && !cli.IsClosedPipe(err) {
		g.errs.Addf("stdout", err)
	}
	return g.errs.Err()
}

type getter struct {
	errs    *cli.Errors
	s       *cli.Session
	st      *store.Combined // the session's stores, or a snapshot (--at)
	o       options
	code    *gojq.Code
	out     *cli.Output
	compact bool
}

// get prints the value at the ref in; it returns false once stdout is gone.
func (g *getter) get(ctx context.Context, in string) bool {
	if err := ctx.Err(); err != nil {
		g.errs.Add(err)
		return false
	}
	r, err := g.s.Ref(in)
	if err != nil {
		g.errs.Addf(in, err)
		return true
	}
	if g.o.history {
		return g.history(ctx, in, r)
	}
	doc, err := g.st.Get(ctx, r)
	if err != nil {
		g.errs.Addf(in, err)
		return true
	}
	if g.o.which {
		return g.out.Line(doc.Ref.String()) == nil
	}
	return g.value(ctx, in, r, doc.Value)
}

// history prints one line per version of the document at r.
func (g *getter) history(ctx context.Context, in string, r ref.Ref) bool {
	more := true
	err := cli.History(ctx, g.st, r, func(rev store.Revision) error {
		line := map[string]any{
			"commit": rev.Commit,
			"time":   rev.Time.Format(time.RFC3339),
			"author": rev.Author,
			"value":  rev.Value,
		}
		if rev.Link != "" {
			line["link"] = true
		}
		if more = g.value(ctx, in, r, line); !more {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		g.errs.Addf(in, err)
	}
	return more
}

// errStop ends a history walk once stdout is gone.
var errStop = errors.New("stdout closed")

// value prints v, the value read at r, through the query if there is one;
// it returns false once stdout is gone.
func (g *getter) value(ctx context.Context, in string, r ref.Ref, v any) bool {
	if g.code == nil {
		return g.emit(r.String(), v)
	}
	qctx, stop := g.o.limits.start(ctx)
	defer stop()
	iter := g.code.RunWithContext(qctx, v, r.String())
	for {
		v, ok := iter.Next()
		if !ok {
			return true
		}
		if err, ok := v.(error); ok {
			switch {
			case ctx.Err() != nil:
				return false // interrupted: Finish says so
			case qctx.Err() != nil:
				err = context.Cause(qctx)
			}
			if err, ok := err.(*gojq.HaltError); ok && err.Value() == nil {
				return true
			}
			g.errs.Addf(in, fmt.Errorf("query: %w", err))
			return true
		}
		if err := store.CheckNesting(v); err != nil {
			g.errs.Addf(in, fmt.Errorf("query: result: %w", err))
			return true
		}
		if !g.emit(r.String(), v) {
			return false
		}
	}
}

func (g *getter) emit(ref string, v any) bool {
	var err error
	switch {
	case g.o.withRef:
		err = g.out.JSON(struct {
			Ref   string `json:"ref"`
			Value any    `json:"value"`
		}{ref, v}, true)
	case g.o.raw:
		err = g.out.Raw(v, g.compact)
	default:
		err = g.out.JSON(v, g.compact)
	}
	if err != nil && g.out.Err() == nil {
		g.errs.Addf(ref, err) // a value the query made that JSON cannot hold
		return true
	}
	return err == nil
}

// queryLimits bound one run of the query on one value; zero is no bound.
type queryLimits struct {
	timeout time.Duration
	memory  uint64 // bytes of memory held from the system
}

// memoryCheckInterval is how often memory is measured while a query runs.
const memoryCheckInterval = 5 * time.Millisecond

// start returns the context of one run of the query, cancelled with the
// reason when a bound is passed, and the function that ends the run.
func (l queryLimits) start(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stopTimer := func() bool { return false }
	if l.timeout > 0 {
		stopTimer = time.AfterFunc(l.timeout, func() {
			cancel(fmt.Errorf("stopped after %v (--query-timeout)", l.timeout))
		}).Stop
	}
	if l.memory > 0 {
		go l.watchMemory(ctx, cancel)
	}
	return ctx, func() {
		stopTimer()
		cancel(nil)
	}
}

// watchMemory cancels ctx when the memory the Go runtime holds from the
// system (about the process's resident size) grows past the limit; it
// returns when ctx is done.
func (l queryLimits) watchMemory(ctx context.Context, cancel context.CancelCauseFunc) {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	held := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64() - sample[1].Value.Uint64()
	}
	tick := time.NewTicker(memoryCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if held() <= l.memory {
			continue
		}
		debug.FreeOSMemory() // garbage, and the memory it held, are not the query's
		if held() > l.memory {
			cancel(fmt.Errorf("stopped at %d MiB of memory (--query-memory)", l.memory>>20))
			return
		}
	}
}
