package ocuroot

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/lib/cli"
)

// completionModel is what the completion scripts complete: the commands,
// their verbs, and the flags of each verb and of ocuroot itself. It is
// built from the command tree, so a new verb or flag is completed without
// further work.
type completionModel struct {
	commands []completionWord            // sorted, with version and help
	verbs    map[string][]completionWord // command → its verbs, sorted
	flags    map[string][]completionFlag // "COMMAND VERB" → its flags; "" → ocuroot's
}

type completionWord struct {
	name, help string
}

type completionFlag struct {
	name  string // "-f" or "--force"
	value bool   // takes a value
	usage string
}

// newCompletionModel builds the model of the tree root.
func newCompletionModel(root *cli.Command) completionModel {
	m := completionModel{verbs: map[string][]completionWord{}, flags: map[string][]completionFlag{}}
	for _, c := range root.Sorted() {
		m.commands = append(m.commands, completionWord{c.Name, c.ShortHelp})
		for _, v := range c.Sorted() {
			m.verbs[c.Name] = append(m.verbs[c.Name], completionWord{v.Name, v.ShortHelp})
			m.flags[c.Name+" "+v.Name] = completionFlags(v)
		}
	}
	m.verbs["help"] = m.commands
	m.flags[""] = completionFlags(root)
	return m
}

// completionFlags turns the flags of c into completion words: "-x" for a
// one-letter name, "--name" otherwise; sorted, without duplicates.
func completionFlags(c *cli.Command) []completionFlag {
	var out []completionFlag
	c.VisitFlags(func(f *flag.Flag) {
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if slices.ContainsFunc(out, func(c completionFlag) bool { return c.name == name }) {
			return
		}
		usage, _ := flag.UnquoteUsage(f)
		out = append(out, completionFlag{name: name, value: !cli.IsBoolFlag(f), usage: usage})
	})
	slices.SortFunc(out, func(a, b completionFlag) int { return strings.Compare(a.name, b.name) })
	return out
}

// completion is "ocuroot completion SHELL": it prints the script gen
// writes for the tree.
func completion(shell string, gen func(w io.Writer, m completionModel), sio cli.IO) *cli.Command {
	c := cli.NewCommand(shell, fmt.Sprintf(`
Usage: ocuroot completion %s

Prints the %s completion script of ocuroot: every command, verb and flag.
See the script's first lines for how to install it.
`, shell, shell), sio)
	c.Exec = func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return cli.ArgErrorf("unexpected argument %q", pos[0])
		}
		var script bytes.Buffer
		gen(&script, newCompletionModel(Command(cli.IO{})))
		if _, err := c.Tool.Stdout.Write(script.Bytes()); err != nil && !cli.IsClosedPipe(err) {
			return cli.WithSubject("stdout", err)
		}
		return nil
	}
	return c
}

// names returns the names of words, space-separated.
func names[T completionWord | completionFlag](words []T, keep func(T) bool) string {
	var out []string
	for _, w := range words {
		if keep != nil && !keep(w) {
			continue
		}
		switch w := any(w).(type) {
		case completionWord:
			out = append(out, w.name)
		case completionFlag:
			out = append(out, w.name)
		}
	}
	return strings.Join(out, " ")
}

func takesValue(f completionFlag) bool { return f.value }

// shFunctions writes the shell functions the bash and zsh scripts share:
// _ocuroot_verbs COMMAND, _ocuroot_flags COMMAND VERB and _ocuroot_valued
// COMMAND VERB (the flags that take a value) print words.
func shFunctions(w io.Writer, m completionModel) {
	fmt.Fprint(w, "_ocuroot_verbs() {\n\tcase $1 in\n")
	for _, c := range m.commands {
		if vs := m.verbs[c.name]; len(vs) > 0 {
			fmt.Fprintf(w, "\t%s) echo '%s' ;;\n", c.name, names(vs, nil))
		}
	}
	fmt.Fprint(w, "\tesac\n}\n\n")
	for _, fn := range []struct {
		name string
		keep func(completionFlag) bool
	}{{"_ocuroot_flags", nil}, {"_ocuroot_valued", takesValue}} {
		fmt.Fprintf(w, "%s() {\n\tcase \"$1 $2\" in\n", fn.name)
		for _, c := range m.commands {
			for _, v := range m.verbs[c.name] {
				if fs, ok := m.flags[c.name+" "+v.name]; ok {
					fmt.Fprintf(w, "\t'%s %s') echo '%s' ;;\n", c.name, v.name, names(fs, fn.keep))
				}
			}
		}
		fmt.Fprintf(w, "\t*) echo '%s' ;;\n\tesac\n}\n\n", names(m.flags[""], fn.keep))
	}
}

// bashScript writes the bash completion script.
func bashScript(w io.Writer, m completionModel) {
	fmt.Fprint(w, `# bash completion for ocuroot, written by "ocuroot completion bash".
# Install: add 'source <(ocuroot completion bash)' to ~/.bashrc, or save it
# as /etc/bash_completion.d/ocuroot.

`)
	shFunctions(w, m)
	fmt.Fprintf(w, `_ocuroot() {
	local cur=${COMP_WORDS[COMP_CWORD]} cmd= verb= skip= w i words
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == = ]]; then skip=1; continue; fi
		if [[ -n $skip ]]; then skip=; continue; fi
		case $w in
		-*=*) ;;
		-*) [[ " $(_ocuroot_valued "$cmd" "$verb") " == *" $w "* ]] && skip=1 ;;
		*) if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $verb ]]; then verb=$w; fi ;;
		esac
	done
	if [[ -n $skip ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		words=$(_ocuroot_flags "$cmd" "$verb")
	elif [[ -z $cmd ]]; then
		words='%s'
	elif [[ -z $verb ]]; then
		words=$(_ocuroot_verbs "$cmd")
	else
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
}

complete -F _ocuroot ocuroot
`, names(m.commands, nil))
}

// zshScript writes the zsh completion script.
func zshScript(w io.Writer, m completionModel) {
	fmt.Fprint(w, `#compdef ocuroot
# zsh completion for ocuroot, written by "ocuroot completion zsh".
# Install: ocuroot completion zsh > "${fpath[1]}/_ocuroot" (then restart
# zsh), or add 'source <(ocuroot completion zsh)' to ~/.zshrc after compinit.

`)
	shFunctions(w, m)
	fmt.Fprintf(w, `_ocuroot() {
	local cur=${words[CURRENT]} cmd= verb= skip= w i
	local -a cands
	for ((i = 2; i < CURRENT; i++)); do
		w=${words[i]}
		if [[ -n $skip ]]; then skip=; continue; fi
		case $w in
		-*=*) ;;
		-*) [[ " $(_ocuroot_valued "$cmd" "$verb") " == *" $w "* ]] && skip=1 ;;
		*) if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $verb ]]; then verb=$w; fi ;;
		esac
	done
	if [[ -n $skip ]]; then
		_files
		return
	fi
	if [[ $cur == -* ]]; then
		cands=(${=$(_ocuroot_flags "$cmd" "$verb")})
	elif [[ -z $cmd ]]; then
		cands=(%s)
	elif [[ -z $verb ]]; then
		cands=(${=$(_ocuroot_verbs "$cmd")})
	else
		_files
		return
	fi
	compadd -- $cands
}

if [[ $funcstack[1] == _ocuroot ]]; then
	_ocuroot "$@"
elif (( $+functions[compdef] )); then
	compdef _ocuroot ocuroot
fi
`, names(m.commands, nil))
}

// fishScript writes the fish completion script.
func fishScript(w io.Writer, m completionModel) {
	fmt.Fprint(w, `# fish completion for ocuroot, written by "ocuroot completion fish".
# Install: ocuroot completion fish > ~/.config/fish/completions/ocuroot.fish

# The flags of the command and verb given as arguments that take a value.
function __ocuroot_valued
    switch "$argv"
`)
	for _, c := range m.commands {
		for _, v := range m.verbs[c.name] {
			if fs, ok := m.flags[c.name+" "+v.name]; ok {
				fmt.Fprintf(w, "        case '%s %s'\n            string split ' ' -- '%s'\n", c.name, v.name, names(fs, takesValue))
			}
		}
	}
	fmt.Fprintf(w, "        case '*'\n            string split ' ' -- '%s'\n    end\nend\n", names(m.flags[""], takesValue))
	fmt.Fprint(w, `
# The command and verb on the command line so far, one per line.
function __ocuroot_words
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l found
    set -l skip 0
    for w in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case '-*=*'
            case '-*'
                if contains -- $w (__ocuroot_valued $found)
                    set skip 1
                end
            case '*'
                if test (count $found) -lt 2
                    set -a found $w
                end
        end
    end
    string join \n -- $found
end

# True when the command line so far holds exactly the words in $argv[1].
function __ocuroot_at
    set -l words (__ocuroot_words)
    test "$words" = "$argv[1]"
end

# True before the verb, where ocuroot's own options go.
function __ocuroot_before_verb
    test (count (__ocuroot_words)) -lt 2
end

`)
	for _, c := range m.commands {
		fmt.Fprintf(w, "complete -c ocuroot -n '__ocuroot_at \"\"' -f -a %s -d %s\n", c.name, fishQuote(c.help))
	}
	for _, c := range m.commands {
		for _, v := range m.verbs[c.name] {
			fmt.Fprintf(w, "complete -c ocuroot -n '__ocuroot_at %s' -f -a %s -d %s\n", c.name, v.name, fishQuote(v.help))
		}
	}
	fishFlags(w, "__ocuroot_before_verb", m.flags[""])
	for _, c := range m.commands {
		for _, v := range m.verbs[c.name] {
			if fs, ok := m.flags[c.name+" "+v.name]; ok {
				fishFlags(w, fmt.Sprintf(`__ocuroot_at "%s %s"`, c.name, v.name), fs)
			}
		}
	}
}

func fishFlags(w io.Writer, cond string, flags []completionFlag) {
	for _, f := range flags {
		opt := "-l " + strings.TrimPrefix(f.name, "--")
		if !strings.HasPrefix(f.name, "--") {
			opt = "-s " + strings.TrimPrefix(f.name, "-")
		}
		if f.value {
			opt += " -r"
		}
		fmt.Fprintf(w, "complete -c ocuroot -n '%s' %s -d %s\n", cond, opt, fishQuote(f.usage))
	}
}

// fishQuote quotes s for fish, in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
