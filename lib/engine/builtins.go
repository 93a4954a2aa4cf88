package engine

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/sdk"
	"github.com/ocu-team/ocu/lib/state"
)

var (
	envNameRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$`)
	callNameRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	inputNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	tagRE       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$`)
)

// starlarkKeywords may not name inputs: go.starlark.net's keywords and
// reserved words cannot be keyword arguments.
var starlarkKeywords = []string{
	"and", "as", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
	"except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "load", "nonlocal",
	"not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
}

// workItem is one call() or deploy() of a package, with the functions it
// names (checked to be top-level once the package has run).
type workItem struct {
	work   state.Work
	fns    map[string]*starlark.Function // role ("fn", "up", "down") → function
	pos    string                        // where call()/deploy() was called, for errors
	phased bool
}

// pkgState collects what a package file declares while it runs (docs/engine.md
// §3, §4, §5).
type pkgState struct {
	file string  // F
	base ref.Ref // R/-/F/@N: base of relative refs

	envs       []state.Environment // register_environment()
	items      []*workItem         // call() and deploy(), in order
	phases     []state.Phase
	pending    []*workItem // declared since the last phase()
	stateEnvs  func() ([]state.Environment, error)
	inWork     bool // a work function is running: package-only builtins refuse
	registered map[string]bool
}

// builtins returns the package builtins bound to s.
func (s *pkgState) builtins() starlark.StringDict {
	return starlark.StringDict{
		"environment":          starlark.NewBuiltin("environment", s.environment),
		"register_environment": starlark.NewBuiltin("register_environment", s.registerEnvironment),
		"environments":         starlark.NewBuiltin("environments", s.environments),
		"phase":                starlark.NewBuiltin("phase", s.phase),
		"call":                 starlark.NewBuiltin("call", s.call),
		"deploy":               starlark.NewBuiltin("deploy", s.deploy),
		"next":                 starlark.NewBuiltin("next", s.next),
		"done":                 starlark.NewBuiltin("done", s.done),
		"input":                starlark.NewBuiltin("input", s.input),
		"ref":                  starlark.NewBuiltin("ref", s.ref),
		// The later SDK's name for call() (Ocuroot 0.3.11 and later).
		"task": starlark.NewBuiltin("task", s.call),
	}
}

func (s *pkgState) topLevelOnly(name string) error {
	if s.inWork {
		return fmt.Errorf("%s() is only available at the top level of a package, not in a work function", name)
	}
	return nil
}

func (s *pkgState) environment(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	attrs := &starlark.Dict{}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "attributes?", &attrs); err != nil {
		return nil, err
	}
	env, err := newEnvironment(name, attrs)
	if err != nil {
		return nil, err
	}
	return &envValue{env: env}, nil
}

func newEnvironment(name string, attrs *starlark.Dict) (state.Environment, error) {
	if !envNameRE.MatchString(name) {
		return state.Environment{}, fmt.Errorf("invalid environment name %q: use letters, digits, '_', '.' and '-' (at most 63)", name)
	}
	env := state.Environment{Name: name, Attributes: map[string]string{}}
	for _, kv := range attrs.Items() {
		k, ok1 := starlark.AsString(kv[0])
		v, ok2 := starlark.AsString(kv[1])
		if !ok1 || !ok2 {
			return state.Environment{}, fmt.Errorf("environment %q: attributes must map strings to strings, got %s: %s", name, kv[0].Type(), kv[1].Type())
		}
		env.Attributes[k] = v
	}
	return env, nil
}

func (s *pkgState) registerEnvironment(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := s.topLevelOnly(b.Name()); err != nil {
		return nil, err
	}
	var ev *envValue
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &ev); err != nil {
		return nil, err
	}
	if s.registered == nil {
		s.registered = map[string]bool{}
	}
	if s.registered[ev.env.Name] {
		return nil, fmt.Errorf("environment %q registered twice", ev.env.Name)
	}
	s.registered[ev.env.Name] = true
	s.envs = append(s.envs, ev.env)
	return starlark.None, nil
}

func (s *pkgState) environments(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	envs, err := s.stateEnvs()
	if err != nil {
		return nil, err
	}
	list := make([]starlark.Value, len(envs))
	for i, e := range envs {
		list[i] = &envValue{env: e}
	}
	return starlark.NewList(list), nil
}

func (s *pkgState) phase(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := s.topLevelOnly(b.Name()); err != nil {
		return nil, err
	}
	var name string
	work, tasks := &starlark.List{}, &starlark.List{}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "work?", &work, "tasks?", &tasks); err != nil {
		return nil, err
	}
	if tasks.Len() > 0 { // the later SDK's name for work=
		if work.Len() > 0 {
			return nil, fmt.Errorf("phase %q: give work= or tasks=, not both", name)
		}
		work = tasks
	}
	var listed []*workItem
	for i := range work.Len() {
		w, ok := work.Index(i).(*workValue)
		if !ok {
			return nil, fmt.Errorf("phase %q: work[%d] is a %s, not a call() or deploy()", name, i, work.Index(i).Type())
		}
		if w.item.phased || slices.Contains(listed, w.item) {
			typ, n := w.item.work.Kind()
			return nil, fmt.Errorf("%s %q is in two phases", typ, n)
		}
		listed = append(listed, w.item)
	}
	for _, it := range s.pending {
		if !slices.Contains(listed, it) {
			it.phased = true
			s.phases = append(s.phases, state.Phase{Work: []state.Work{it.work}})
		}
	}
	s.pending = nil
	ph := state.Phase{Name: name, Work: []state.Work{}}
	for _, it := range listed {
		it.phased = true
		ph.Work = append(ph.Work, it.work)
	}
	s.phases = append(s.phases, ph)
	return starlark.None, nil
}

// finish closes the phases after the file ran: leftover items become
// unnamed phases.
func (s *pkgState) finish() {
	for _, it := range s.pending {
		if !it.phased {
			it.phased = true
			s.phases = append(s.phases, state.Phase{Work: []state.Work{it.work}})
		}
	}
	s.pending = nil
}

func (s *pkgState) declare(thread *starlark.Thread, it *workItem) error {
	typ, name := it.work.Kind()
	for _, other := range s.items {
		t, n := other.work.Kind()
		if t == typ && n == name {
			if typ == "deploy" {
				return fmt.Errorf("environment %q is deployed twice", name)
			}
			return fmt.Errorf("call %q is declared twice", name)
		}
	}
	if pos, ok := sdk.CallerPos(thread); ok {
		it.pos = pos.String()
	}
	s.items = append(s.items, it)
	s.pending = append(s.pending, it)
	return nil
}

func (s *pkgState) call(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := s.topLevelOnly(b.Name()); err != nil {
		return nil, err
	}
	var fn starlark.Value
	var name, annotation string
	inputs := &starlark.Dict{}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "name", &name, "annotation?", &annotation, "inputs?", &inputs); err != nil {
		return nil, err
	}
	f, err := asFunction("fn", fn)
	if err != nil {
		return nil, err
	}
	if !callNameRE.MatchString(name) {
		return nil, fmt.Errorf("invalid call name %q: use letters, digits, '_', '.' and '-'", name)
	}
	in, err := s.inputs(inputs)
	if err != nil {
		return nil, err
	}
	it := &workItem{work: state.Work{Call: &state.CallWork{Name: name, Inputs: in}}, fns: map[string]*starlark.Function{"fn": f}}
	if err := s.declare(thread, it); err != nil {
		return nil, err
	}
	return &workValue{item: it}, nil
}

func (s *pkgState) deploy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := s.topLevelOnly(b.Name()); err != nil {
		return nil, err
	}
	var envArg, up, down starlark.Value
	inputs := &starlark.Dict{}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "environment", &envArg, "up", &up, "down", &down, "inputs?", &inputs); err != nil {
		return nil, err
	}
	var env string
	switch e := envArg.(type) {
	case *envValue:
		env = e.env.Name
	case starlark.String:
		env = string(e)
		if !envNameRE.MatchString(env) {
			return nil, fmt.Errorf("invalid environment name %q", env)
		}
	default:
		return nil, fmt.Errorf("deploy: environment must be an environment() or a name, not %s", envArg.Type())
	}
	fu, err := asFunction("up", up)
	if err != nil {
		return nil, err
	}
	fd, err := asFunction("down", down)
	if err != nil {
		return nil, err
	}
	if _, ok, _ := inputs.Get(starlark.String("environment")); ok {
		return nil, errors.New(`deploy: the input name "environment" is reserved`)
	}
	in, err := s.inputs(inputs)
	if err != nil {
		return nil, err
	}
	in["environment"] = state.Descriptor{Ref: "@/environment/" + env}
	it := &workItem{
		work: state.Work{Deploy: &state.DeployWork{Environment: env, Inputs: in}},
		fns:  map[string]*starlark.Function{"up": fu, "down": fd},
	}
	if err := s.declare(thread, it); err != nil {
		return nil, err
	}
	return &workValue{item: it}, nil
}

func asFunction(role string, v starlark.Value) (*starlark.Function, error) {
	f, ok := v.(*starlark.Function)
	if !ok {
		return nil, fmt.Errorf("%s must be a top-level function, not %s", role, v.Type())
	}
	if f.Name() == "lambda" {
		return nil, fmt.Errorf("%s must be a top-level function, not a lambda", role)
	}
	return f, nil
}

func (s *pkgState) next(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Value
	var annotation string
	inputs := &starlark.Dict{}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "annotation?", &annotation, "inputs?", &inputs); err != nil {
		return nil, err
	}
	n := &nextValue{annotation: annotation}
	f, err := asFunction("fn", fn)
	if err == nil {
		n.fn = f
		n.inputs, err = s.inputs(inputs)
	}
	if err != nil {
		n.err = fmt.Errorf("next(): %w", err)
	}
	return n, nil
}

func (s *pkgState) done(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var annotation string
	outputs := &starlark.Dict{}
	tags := &starlark.List{}
	// watch= (files a later Ocuroot re-releases on) has no place in store
	// format 1: accepted and ignored.
	watch := &starlark.List{}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "annotation?", &annotation, "outputs?", &outputs, "tags?", &tags, "watch?", &watch); err != nil {
		return nil, err
	}
	d := &doneValue{annotation: annotation, outputs: map[string]any{}}
	for _, kv := range outputs.Items() {
		k, ok := starlark.AsString(kv[0])
		if !ok {
			d.err = fmt.Errorf("done(): output names must be strings, not %s", kv[0].Type())
			return d, nil
		}
		v, err := sdk.FromStarlark(kv[1])
		if err != nil {
			d.err = fmt.Errorf("done(): output %q: %w", k, err)
			return d, nil
		}
		d.outputs[k] = v
	}
	for i := range tags.Len() {
		t, ok := starlark.AsString(tags.Index(i))
		if !ok {
			d.err = fmt.Errorf("done(): tags must be strings, not %s", tags.Index(i).Type())
			return d, nil
		}
		if err := checkTag(t); err != nil {
			d.err = err
			return d, nil
		}
		d.tags = append(d.tags, t)
	}
	return d, nil
}

// checkTag validates a release tag (docs/engine.md §9.4).
func checkTag(t string) error {
	switch {
	case !tagRE.MatchString(t):
		return fmt.Errorf("invalid tag %q: use letters, digits, '_', '.' and '-' (at most 63), not starting with '.' or '-'", t)
	case strings.Trim(t, "0123456789") == "":
		return fmt.Errorf("invalid tag %q: a tag cannot be all digits (release numbers are)", t)
	case t == "object.json":
		return fmt.Errorf("invalid tag %q: the name is reserved", t)
	}
	return nil
}

func (s *pkgState) input(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var refArg, def starlark.Value = starlark.None, starlark.None
	var doc starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ref?", &refArg, "default?", &def, "doc?", &doc); err != nil {
		return nil, err
	}
	d := starlark.NewDict(3)
	if refArg != starlark.None {
		r, err := s.refString(refArg)
		if err != nil {
			return nil, err
		}
		d.SetKey(starlark.String("ref"), starlark.String(r))
	}
	if def != starlark.None {
		d.SetKey(starlark.String("default"), def)
	}
	if doc != starlark.None {
		d.SetKey(starlark.String("doc"), doc)
	}
	if refArg == starlark.None && def == starlark.None {
		return nil, errors.New("input() needs ref= or default=")
	}
	return d, nil
}

func (s *pkgState) ref(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var r starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &r); err != nil {
		return nil, err
	}
	abs, err := s.refString(r)
	if err != nil {
		return nil, err
	}
	d := starlark.NewDict(1)
	d.SetKey(starlark.String("ref"), starlark.String(abs))
	return d, nil
}

// refString accepts a ref string or a ref() value and makes it absolute
// against the release being evaluated (docs/refs.md §6).
func (s *pkgState) refString(v starlark.Value) (string, error) {
	if d, ok := v.(*starlark.Dict); ok {
		if r, found, _ := d.Get(starlark.String("ref")); found && d.Len() == 1 {
			v = r
		}
	}
	str, ok := starlark.AsString(v)
	if !ok {
		return "", fmt.Errorf("a ref must be a string or a ref() value, not %s", v.Type())
	}
	// The later SDK's ./task/NAME is this SDK's ./call/NAME.
	if rest, ok := strings.CutPrefix(str, "./task/"); ok {
		str = "./call/" + rest
	}
	return absRef(str, s.base)
}

// absRef parses a ref and resolves it against base.
func absRef(str string, base ref.Ref) (string, error) {
	r, err := ref.ParseTool(str)
	if err != nil {
		return "", err
	}
	r, err = r.Resolve(base)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

var descriptorKeys = []string{"default", "doc", "ref", "value"}

// inputs converts an inputs={...} dict to descriptors (docs/engine.md §3).
func (s *pkgState) inputs(d *starlark.Dict) (state.Inputs, error) {
	out := state.Inputs{}
	for _, kv := range d.Items() {
		name, ok := starlark.AsString(kv[0])
		if !ok || !inputNameRE.MatchString(name) || slices.Contains(starlarkKeywords, name) {
			return nil, fmt.Errorf("invalid input name %s", kv[0].String())
		}
		desc, err := s.descriptor(name, kv[1])
		if err != nil {
			return nil, err
		}
		out[name] = desc
	}
	return out, nil
}

func (s *pkgState) descriptor(name string, v starlark.Value) (state.Descriptor, error) {
	if v == starlark.None {
		return state.Descriptor{}, fmt.Errorf("input %q has no value", name)
	}
	if d, ok := v.(*starlark.Dict); ok && d.Len() > 0 && onlyKeys(d, descriptorKeys) {
		var desc state.Descriptor
		for _, kv := range d.Items() {
			k, _ := starlark.AsString(kv[0])
			switch k {
			case "ref":
				if kv[1] == starlark.None {
					continue
				}
				r, err := s.refString(kv[1])
				if err != nil {
					return desc, fmt.Errorf("input %q: %w", name, err)
				}
				desc.Ref = r
			case "doc":
				doc, ok := starlark.AsString(kv[1])
				if !ok && kv[1] != starlark.None {
					return desc, fmt.Errorf("input %q: doc must be a string", name)
				}
				desc.Doc = doc
			default:
				jv, err := sdk.FromStarlark(kv[1])
				if err != nil {
					return desc, fmt.Errorf("input %q: %w", name, err)
				}
				if k == "value" {
					desc.Value = jv
				} else {
					desc.Default = jv
				}
			}
		}
		if desc.Ref == "" && desc.Default == nil && desc.Value == nil {
			return desc, fmt.Errorf("input %q needs a ref, a default or a value", name)
		}
		return desc, nil
	}
	jv, err := sdk.FromStarlark(v)
	if err != nil {
		return state.Descriptor{}, fmt.Errorf("input %q: %w", name, err)
	}
	return state.Descriptor{Value: jv}, nil
}

func onlyKeys(d *starlark.Dict, allowed []string) bool {
	for _, k := range d.Keys() {
		s, ok := starlark.AsString(k)
		if !ok || !slices.Contains(allowed, s) {
			return false
		}
	}
	return true
}

// contextValue is the ctx argument of a work function (docs/engine.md §9.2).
func contextValue(id string, inputs map[string]starlark.Value) starlark.Value {
	fields := starlark.StringDict{}
	for k, v := range inputs {
		fields[k] = v
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"work_id": starlark.String(id),
		"inputs":  starlarkstruct.FromStringDict(starlarkstruct.Default, fields),
	})
}
