package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// IO is what a command is given of its process: its streams. The working
// directory and the environment travel in the context ([WithEnv]).
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Constructor builds a command afresh. A command remembers what it parsed,
// so every run builds its own: cmd/ocu-get's main, "ocuroot state get" and
// the tests all run the command get.Command builds.
type Constructor func(IO) *Command

// Command is a command of the ocu tools, in the manner of ffcli.Command
// (github.com/peterbourgon/ff/v3/ffcli), which it replaces because ffcli
// parses flags with flag.FlagSet.Parse and so stops at the first positional
// argument: the tools take flags before, between and after positional
// arguments (docs/cli.md §1.1), and read the environment from the
// injected [Env] where ff reads os.Getenv.
//
// A command is a leaf, which parses all its arguments and runs Exec, or a
// group (Subcommands set), which parses the global options before the
// next word and passes them on to the subcommand that word names.
type Command struct {
	// Name is the word naming the command under its group ("get"), or the
	// program of a root command ("ocu-get").
	Name string
	// ShortHelp is the line describing the command in its group's usage.
	ShortHelp string
	// Flags are the command's options; the global options and --version
	// are added by [NewCommand] and [NewGroup].
	Flags *flag.FlagSet
	// Compat are options kept from the original Ocuroot client that the
	// ocuroot tree adds to a tool's command (nil for none); -h lists them
	// apart.
	Compat *flag.FlagSet
	// Subcommands makes the command a group.
	Subcommands []*Command
	// Exec runs a leaf with its positional arguments, or a group whose
	// next word names none of its subcommands (nil: an unknown command).
	// Its error decides the exit code (see ExitCode) and is printed, each
	// error of a join on its own line: "<prog>: <error>".
	Exec func(ctx context.Context, args []string) error
	// Usage writes the command's usage text for -h (nil: LongHelp and the
	// options).
	Usage func(w io.Writer)
	// LongHelp is the head of the default usage text.
	LongHelp string

	// Tool is the command's run: its program name for messages, streams
	// and global options.
	Tool *Tool

	parent *Command
}

// NewCommand returns a leaf command named prog, with usage text synopsis,
// whose flag set holds the global options.
func NewCommand(prog, synopsis string, sio IO) *Command {
	t := &Tool{Prog: prog, Stdin: sio.Stdin, Stdout: sio.Stdout, Stderr: sio.Stderr}
	c := &Command{Name: prog, LongHelp: synopsis, Tool: t}
	c.Flags = flag.NewFlagSet(prog, flag.ContinueOnError)
	c.Flags.SetOutput(io.Discard)
	t.Globals.Register(c.Flags)
	c.Flags.Bool("version", false, "print the version and exit")
	return c
}

// NewGroup returns a group command named prog with the given
// subcommands (see Add).
func NewGroup(prog, synopsis string, sio IO, subs ...*Command) *Command {
	c := NewCommand(prog, synopsis, sio)
	for _, s := range subs {
		c.Add(s)
	}
	return c
}

// Add makes sub a subcommand of c: its program name becomes c's followed
// by sub's Name.
func (c *Command) Add(sub *Command) {
	sub.parent = c
	c.Subcommands = append(c.Subcommands, sub)
	sub.rename()
}

// rename sets the program names of c and its subcommands from their place
// in the tree.
func (c *Command) rename() {
	if c.parent != nil {
		c.Tool.Prog = c.parent.Tool.Prog + " " + c.Name
		c.Flags.Init(c.Tool.Prog, flag.ContinueOnError)
	}
	for _, s := range c.Subcommands {
		s.rename()
	}
}

// Root is the command at the top of c's tree.
func (c *Command) Root() *Command {
	for c.parent != nil {
		c = c.parent
	}
	return c
}

// Sub returns the subcommand named name, or nil.
func (c *Command) Sub(name string) *Command {
	for _, s := range c.Subcommands {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Sorted returns c's subcommands sorted by name.
func (c *Command) Sorted() []*Command {
	subs := slices.Clone(c.Subcommands)
	slices.SortFunc(subs, func(a, b *Command) int { return strings.Compare(a.Name, b.Name) })
	return subs
}

// VisitFlags calls fn for each flag c takes, its own then Compat's.
func (c *Command) VisitFlags(fn func(*flag.Flag)) {
	c.Flags.VisitAll(fn)
	if c.Compat != nil {
		c.Compat.VisitAll(fn)
	}
}

// WriteUsage writes c's usage text.
func (c *Command) WriteUsage(w io.Writer) {
	if c.Usage != nil {
		c.Usage(w)
		return
	}
	fmt.Fprintln(w, strings.TrimSpace(c.LongHelp))
	fmt.Fprintln(w, "\nOptions:")
	printDefaults(c.Flags, w)
	if c.Compat != nil {
		fmt.Fprintf(w, "\nOptions of %s, as in the original client:\n", c.Tool.Prog)
		printDefaults(c.Compat, w)
	}
}

func printDefaults(fs *flag.FlagSet, w io.Writer) {
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses args down the tree from c and returns the command to run
// and its positional arguments. inherited are the options given to the
// groups above, by name: they reach the subcommand as if given to it.
func (c *Command) parse(ctx context.Context, args []string, inherited map[string]string) (*Command, []string, error) {
	fs := c.Flags
	if c.Compat != nil {
		fs = flag.NewFlagSet(c.Tool.Prog, flag.ContinueOnError)
		c.VisitFlags(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
		c.Flags.Visit(func(f *flag.Flag) { fs.Set(f.Name, f.Value.String()) }) // preset
	}
	for name, value := range inherited {
		if fs.Lookup(name) != nil {
			if err := fs.Set(name, value); err != nil {
				return c, nil, err
			}
		}
	}
	if len(c.Subcommands) == 0 {
		pos, err := Parse(fs, args, EnvFrom(ctx).Lookup)
		if err != nil {
			return c, nil, err
		}
		return c, pos, nil
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	rest := fs.Args()
	version := fs.Lookup("version").Value.String() == "true"
	if version && c.Exec == nil && len(rest) == 0 {
		return c, nil, ErrVersion // a group without a verb prints the version as its verbs do
	}
	if len(rest) == 0 || version && c.Exec != nil {
		return c, rest, nil
	}
	sub := c.Sub(rest[0])
	if sub == nil {
		return c, rest, nil
	}
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	return sub.parse(ctx, rest[1:], given)
}

// Run runs the command newCmd builds with args, as the process whose
// streams are io and whose environment is in ctx, and returns its exit
// code: it prints -h's usage or --version, or runs the command and prints
// its error. This is the one place an error becomes an exit code.
func Run(ctx context.Context, newCmd Constructor, args []string, sio IO) int {
	root := newCmd(sio)
	cmd, pos, err := root.parse(ctx, args, nil)
	switch {
	case errors.Is(err, ErrHelp):
		cmd.WriteUsage(sio.Stdout)
		return ExitOK
	case errors.Is(err, ErrVersion):
		fmt.Fprintf(sio.Stdout, "%s %s\n", cmd.Tool.Prog, Version())
		return ExitOK
	case err != nil && len(cmd.Subcommands) > 0:
		err = &progError{prog: root.Tool.Prog, err: UsageError(err)} // named by the root, as unknown commands
	case err != nil:
		if ue := (*UsageErr)(nil); !errors.As(err, &ue) {
			err = UsageError(err)
		}
	case cmd.Exec == nil:
		err = cmd.unknown(pos)
	default:
		err = cmd.Exec(ctx, pos)
	}
	Report(sio.Stderr, cmd.Tool.Prog, err)
	return ExitCode(err)
}

// unknown is the error of a group run with pos, which names none of its
// subcommands: its usage without a word, else an unknown command, named
// by the root's program.
func (c *Command) unknown(pos []string) error {
	if len(pos) == 0 {
		c.WriteUsage(c.Tool.Stderr)
		return Exit(ExitUsage)
	}
	root := c.Root()
	name := strings.TrimPrefix(c.Tool.Prog+" "+pos[0], root.Tool.Prog+" ")
	return &progError{prog: root.Tool.Prog, err: &UsageErr{Err: fmt.Errorf("unknown command %q", name)}}
}

// progError is an error printed under another program name than the
// command's: its root's, for an unknown command.
type progError struct {
	prog string
	err  error
}

func (e *progError) Error() string { return e.err.Error() }
func (e *progError) Unwrap() error { return e.err }

// Report prints err on w, once: each error of a join on its own line,
// "<prog>: <error>", usage errors followed by "(see <prog> -h)". Errors
// with no message (see Exit) print nothing.
func Report(w io.Writer, prog string, err error) {
	for _, e := range Flatten(err) {
		p := prog
		var pe *progError
		if errors.As(e, &pe) {
			p = pe.prog
		}
		msg := e.Error()
		if msg == "" {
			continue
		}
		var ue *UsageErr
		if errors.As(e, &ue) && ue.SeeHelp {
			msg += fmt.Sprintf(" (see %s -h)", p)
		}
		fmt.Fprintf(w, "%s: %s\n", p, msg)
	}
}

// Flatten returns the errors joined in err (errors.Join, nested), in
// order; nil gives none.
func Flatten(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, Flatten(e)...)
	}
	return out
}

// Errors collects the failures of a tool that goes on past bad records.
// Those of a tool's Errors (see Tool.Errors) are printed as they are
// added, so that a long stream shows each bad record when it comes, and
// joined by Err for their exit code alone; a zero Errors only collects.
type Errors struct {
	t    *Tool
	ctx  context.Context
	errs []error
}

// Errors returns the Errors of t's run under ctx: each error is printed
// when added, except the cancellation an interrupt of ctx causes, which
// Finish reports once for the whole run.
func (t *Tool) Errors(ctx context.Context) *Errors { return &Errors{t: t, ctx: ctx} }

// Add adds err (nil is ignored).
func (e *Errors) Add(err error) {
	if err == nil {
		return
	}
	if e.t != nil {
		if !e.interruptedBy(err) { // an interrupt is reported once, by Finish
			Report(e.t.Stderr, e.t.Prog, err)
		}
		err = &reported{err}
	}
	e.errs = append(e.errs, err)
}

// interruptedBy reports whether err is the cancellation of an interrupt
// of e's context.
func (e *Errors) interruptedBy(err error) bool {
	if e.ctx == nil || !errors.Is(err, context.Canceled) {
		return false
	}
	_, ok := InterruptCode(e.ctx)
	return ok
}

// Addf adds the error "<subject>: <err>" (see WithSubject).
func (e *Errors) Addf(subject string, err error) { e.Add(WithSubject(subject, err)) }

// Any reports whether an error was added.
func (e *Errors) Any() bool { return len(e.errs) > 0 }

// Err returns the errors joined, or nil.
func (e *Errors) Err() error { return errors.Join(e.errs...) }

// reported is an error printed already: it keeps its exit code and has no
// message left to print.
type reported struct{ err error }

func (r *reported) Error() string { return "" }
func (r *reported) ExitCode() int { return ExitCode(r.err) }

// exitError is an error with its exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// Exit is the error of a run that ends with code and has nothing to
// print: it was said already.
func Exit(code int) error { return &exitError{code: code} }

// WithCode returns err with the exit code code.
func WithCode(code int, err error) error { return &exitError{code: code, err: err} }

// Errorf returns the error of the message, with the exit code code.
func Errorf(code int, format string, args ...any) error {
	return WithCode(code, fmt.Errorf(format, args...))
}
