package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Globals are the global options of every tool (docs/cli.md §1.2).
type Globals struct {
	Dir                string
	StateStore         string
	IntentStore        string
	Repo               string
	RepoURLOverride    string
	RepoCommitOverride string
	GitMaxAge          time.Duration
	GitOffline         bool
	GitPushAttempts    int
	GitTimeout         time.Duration
	GitAuthorName      string
	GitAuthorEmail     string
}

// globalFlags lists the global options: the only flags read from the
// environment (OCU_<NAME>).
var globalFlags = []string{
	"state-store", "intent-store", "repo", "repo-url-override", "repo-commit-override",
	"git-max-age", "git-offline", "offline", "git-push-attempts", "git-timeout", "git-author-name", "git-author-email",
}

// flagAliases are global options with two names; given either on the
// command line, neither is read from the environment.
var flagAliases = map[string]string{"offline": "git-offline", "git-offline": "offline"}

// Register adds the global options to fs.
func (g *Globals) Register(fs *flag.FlagSet) {
	fs.StringVar(&g.Dir, "C", "", "run as if started in `DIR`")
	fs.StringVar(&g.StateStore, "state-store", "", "state store `LOCATION` (a folder, git+URL or git+URL#BRANCH)")
	fs.StringVar(&g.IntentStore, "intent-store", "", "intent store `LOCATION`")
	fs.StringVar(&g.Repo, "repo", "", "repo `NAME` for relative refs")
	fs.StringVar(&g.RepoURLOverride, "repo-url-override", "", "repo `URL` used instead of the git remote origin")
	fs.StringVar(&g.RepoCommitOverride, "repo-commit-override", "", "current commit `ID`")
	fs.DurationVar(&g.GitMaxAge, "git-max-age", 0, "skip the git fetch when the cache is younger than `DURATION`")
	fs.BoolVar(&g.GitOffline, "git-offline", false, "never fetch or push git stores: read the cache, refuse writes")
	fs.BoolVar(&g.GitOffline, "offline", false, "same as --git-offline")
	fs.IntVar(&g.GitPushAttempts, "git-push-attempts", 8, "git push `ATTEMPTS`")
	fs.DurationVar(&g.GitTimeout, "git-timeout", 2*time.Minute, "give up a git fetch or push after `DURATION`")
	fs.StringVar(&g.GitAuthorName, "git-author-name", "", "git commit author `NAME`")
	fs.StringVar(&g.GitAuthorEmail, "git-author-email", "", "git commit author `EMAIL`")
}

// ErrHelp is returned by Parse for -h and --help.
var ErrHelp = flag.ErrHelp

// ErrVersion is returned by Parse for --version.
var ErrVersion = errors.New("version requested")

// Parse parses args into fs, allowing flags before, between and after
// positional arguments (docs/cli.md §1.1); "--" ends flags and an argument that is
// a JSON number ("-1") is positional. Then the global options not given on
// the command line are read from OCU_* environment variables, through
// lookup (the Lookup of the injected Env). Numbers and durations must not
// be negative. It returns the positional arguments. -h/--help gives
// ErrHelp, --version (a flag of fs: see NewCommand) ErrVersion.
func Parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for _, a := range Split(fs, args) {
		if a.Flag == "" {
			pos = append(pos, a.Words...)
			continue
		}
		if err := fs.Parse(a.Words); err != nil {
			return nil, err
		}
	}
	if f := fs.Lookup("version"); f != nil && f.Value.String() == "true" {
		return nil, ErrVersion
	}
	if err := checkNotNegative(fs); err != nil {
		return nil, err
	}
	return pos, applyEnv(fs, lookup)
}

// Arg is one command-line argument as Parse reads it.
type Arg struct {
	// Flag is the flag's name as given ("f", "format"); "" for a
	// positional argument.
	Flag string
	// Words are the argument as given: "-f", "-f=v", or "-f" "v" for a
	// flag; the one word of a positional argument.
	Words []string
}

// Split cuts args into flags and positional arguments the way Parse reads
// them with fs: flags may stand before, between and after positional
// arguments; "--" ends the flags (it is dropped); "-" and JSON numbers such
// as "-1" are positional; a flag fs does not know as boolean takes the next
// word as its value unless given as -name=value. Flags fs does not know are
// returned as flags, for fs.Parse to refuse.
func Split(fs *flag.FlagSet, args []string) []Arg {
	var out []Arg
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			for _, p := range args[i+1:] {
				out = append(out, Arg{Words: []string{p}})
			}
			break
		}
		if len(a) < 2 || a[0] != '-' || isJSONNumber(a) {
			out = append(out, Arg{Words: []string{a}})
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		words := []string{a}
		if f := fs.Lookup(name); f != nil && !hasValue && !isBool(f) && i+1 < len(args) {
			words = append(words, args[i+1])
			i++
		}
		out = append(out, Arg{Flag: name, Words: words})
	}
	return out
}

// IsBoolFlag reports whether f is a switch, given without a value.
func IsBoolFlag(f *flag.Flag) bool { return isBool(f) }

// checkNotNegative refuses the negative numbers and durations set in fs:
// no option counts or waits backwards (--max-rounds, --timeout, --wait, ...).
func checkNotNegative(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && isNegative(f) {
			err = fmt.Errorf("--%s must not be negative (got %s)", f.Name, f.Value)
		}
	})
	return err
}

// isNegative reports whether f holds a negative number or duration.
func isNegative(f *flag.Flag) bool {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	switch v := g.Get().(type) {
	case int:
		return v < 0
	case int64:
		return v < 0
	case float64:
		return v < 0
	case time.Duration:
		return v < 0
	}
	return false
}

// applyEnv sets the global options that were not given as flags from
// their OCU_* environment variables, read through lookup: the name in
// upper case, "-" as "_", after "OCU_" (as ff's WithEnvVarPrefix("OCU")
// names them; ff itself reads os.Getenv). An empty variable is unset.
// Tool-specific flags are never read from the environment. A bad or
// negative value is a usage error naming the variable, not the flag.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if alias, ok := flagAliases[f.Name]; ok {
			set[alias] = true
		}
	})
	env := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	env.SetOutput(io.Discard)
	for _, name := range globalFlags {
		f := fs.Lookup(name)
		if f == nil || set[name] {
			continue
		}
		key := "OCU_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		v, _ := lookup(key)
		if v == "" {
			continue
		}
		env.Var(f.Value, name, f.Usage)
		if err := env.Set(name, v); err != nil {
			return &UsageErr{Err: fmt.Errorf("%s: %w", key, invalidValue(f, v, err))}
		}
		if isNegative(f) {
			return &UsageErr{Err: fmt.Errorf("%s must not be negative (got %s)", key, v)}
		}
	}
	return nil
}

// invalidValue is the error of v, refused by f's Set with err: what v
// should have been, as the flag package says it only as "parse error".
func invalidValue(f *flag.Flag, v string, err error) error {
	g, _ := f.Value.(flag.Getter)
	if g == nil {
		return fmt.Errorf("invalid value %q: %w", v, err)
	}
	switch g.Get().(type) {
	case time.Duration:
		return fmt.Errorf("invalid duration %q", v)
	case int, int64, uint, uint64, float64:
		return fmt.Errorf("invalid number %q", v)
	case bool:
		return fmt.Errorf("invalid boolean %q", v)
	}
	return fmt.Errorf("invalid value %q: %w", v, err)
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// isJSONNumber reports whether s is a JSON number such as -1 or -0.5.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
