package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
)

// OpKind names a write operation of a transaction (docs/store-format.md §4).
type OpKind int

// Write operations.
const (
	OpPut OpKind = iota + 1
	OpDelete
	OpLink
	OpUnlink
	OpExpect
)

// Op is one write operation of a transaction.
type Op struct {
	Kind       OpKind
	Ref        ref.Ref // the document (Put, Delete) or the link (Link, Unlink)
	Target     ref.Ref // Link only
	Value      any     // Put: any JSON-encodable value; Expect: the value expected, nil for nothing stored
	CreateOnly bool    // Put only: fail with E_CONFLICT when anything is stored at Ref
	MissingOK  bool    // Delete only: nothing stored is not an error
	// ReplaceCorrupt (Put and Delete): a corrupt object stored at exactly
	// Ref (E_CORRUPT: unparseable, not a regular file, too large) is
	// replaced or removed instead of failing the transaction; the
	// transaction's OnCorrupt hears of it. Its back-references are lost.
	ReplaceCorrupt bool
}

// String is the operation's line in a commit message (docs/store-format.md §11.3).
func (op Op) String() string {
	switch op.Kind {
	case OpPut:
		return "set " + op.Ref.String()
	case OpDelete:
		return "delete " + op.Ref.String()
	case OpLink:
		return "link " + op.Ref.String() + " -> " + op.Target.String()
	case OpUnlink:
		return "unlink " + op.Ref.String()
	case OpExpect:
		return "expect " + op.Ref.String()
	}
	return fmt.Sprintf("op(%d) %s", op.Kind, op.Ref)
}

// Tx is an all-or-nothing set of writes. Operations are recorded in order and
// evaluated against the store's current content when the transaction is
// committed, so a store can replay them on newer content (git) without
// changing their meaning. Errors surface from Commit.
type Tx struct {
	Name string
	Ops  []Op
	// SupportFiles asks stores that keep support files (git, docs/store-format.md
	// §11.6) to write those whose content differs; `release new` sets it.
	// Filesystem stores have none.
	SupportFiles bool
	// OnCorrupt, if set, is told of each corrupt object an operation with
	// ReplaceCorrupt replaces or removes. A store that evaluates the
	// transaction again (git, after a lost push race) may call it again.
	OnCorrupt func(ref string, err error)
}

// NewTx returns an empty transaction; name says what it does ("set", "release
// example/-/f.ocu.star/@1").
func NewTx(name string) *Tx { return &Tx{Name: name} }

// Put stores v at exactly r, keeping the document's back-references.
func (tx *Tx) Put(r ref.Ref, v any) *Tx {
	tx.Ops = append(tx.Ops, Op{Kind: OpPut, Ref: r, Value: v})
	return tx
}

// Create stores v at r and fails with E_CONFLICT if anything is stored there.
func (tx *Tx) Create(r ref.Ref, v any) *Tx {
	tx.Ops = append(tx.Ops, Op{Kind: OpPut, Ref: r, Value: v, CreateOnly: true})
	return tx
}

// Delete removes the object stored at exactly r (document or link).
func (tx *Tx) Delete(r ref.Ref, missingOK bool) *Tx {
	tx.Ops = append(tx.Ops, Op{Kind: OpDelete, Ref: r, MissingOK: missingOK})
	return tx
}

// ReplacingCorrupt sets ReplaceCorrupt on every Put and Delete recorded so
// far, and reports the corrupt objects they replace to report.
func (tx *Tx) ReplacingCorrupt(report func(ref string, err error)) *Tx {
	for i := range tx.Ops {
		if k := tx.Ops[i].Kind; k == OpPut || k == OpDelete {
			tx.Ops[i].ReplaceCorrupt = true
		}
	}
	tx.OnCorrupt = report
	return tx
}

// Link stores a link at link pointing to target.
func (tx *Tx) Link(link, target ref.Ref) *Tx {
	tx.Ops = append(tx.Ops, Op{Kind: OpLink, Ref: link, Target: target})
	return tx
}

// Unlink removes the link stored at link, if any.
func (tx *Tx) Unlink(link ref.Ref) *Tx {
	tx.Ops = append(tx.Ops, Op{Kind: OpUnlink, Ref: link})
	return tx
}

// Expect makes the transaction fail with E_CONFLICT unless the document
// stored at exactly r equals v when it commits (v nil: nothing stored). A
// store that replays the transaction on newer content (git) checks it
// again, so a writer can claim work: whoever changed it first wins.
func (tx *Tx) Expect(r ref.Ref, v any) *Tx {
	tx.Ops = append(tx.Ops, Op{Kind: OpExpect, Ref: r, Value: v})
	return tx
}

// Empty reports whether the transaction has no operations.
func (tx *Tx) Empty() bool { return len(tx.Ops) == 0 }

// objectPath is the store-relative path of ref p's envelope (a repo, "R/-/",
// is the folder R/-).
func objectPath(p string) string { return "refs/" + strings.TrimSuffix(p, "/") + "/@object.json" }

// errNoObject is returned by views when nothing is stored at a ref.
var errNoObject = errors.New("no object")

// view reads the objects a transaction is evaluated against.
type view interface {
	// readObject returns the envelope bytes of canonical ref p, or errNoObject.
	readObject(p string) ([]byte, error)
}

// change is one file a committed transaction writes; data nil removes it.
// old is the file before the transaction (nil: absent); oldUnknown marks
// a file that was present but could not be read (old is then empty).
type change struct {
	ref        string // canonical ref
	data       []byte
	old        []byte
	oldUnknown bool
}

// evaluation applies a transaction's operations in memory.
type evaluation struct {
	v     view
	objs  map[string]*object // current overlay; nil = nothing stored
	orig  map[string][]byte  // bytes before the transaction; nil = absent
	order []string
	// corrupt marks objects found corrupt and dropped (ReplaceCorrupt):
	// present before (orig non-nil), absent in the overlay unless written.
	corrupt map[string]bool
	// unreadable marks corrupt objects whose bytes could not be read (a
	// FIFO, a file over the size limit): their earlier content is unknown.
	unreadable map[string]bool
}

// evaluate checks every operation against v and returns the files to write.
// Nothing is written; an error means the whole transaction fails.
func (tx *Tx) evaluate(v view) ([]change, error) {
	ev := &evaluation{v: v, objs: map[string]*object{}, orig: map[string][]byte{}, corrupt: map[string]bool{}, unreadable: map[string]bool{}}
	type pending struct{ link, target string }
	var links []pending
	for _, op := range tx.Ops {
		if err := checkWritable(op.Ref); err != nil {
			return nil, err
		}
		p := op.Ref.String()
		if op.ReplaceCorrupt {
			if err := ev.dropCorrupt(p); err != nil && tx.OnCorrupt != nil {
				tx.OnCorrupt(p, err)
			}
		}
		switch op.Kind {
		case OpPut:
			if err := ev.put(op.Ref, op.Value, op.CreateOnly); err != nil {
				return nil, opError(op, err)
			}
		case OpDelete:
			if ev.corrupt[p] && ev.objs[p] == nil {
				continue // a corrupt object, dropped above: removing it is the change
			}
			if err := ev.remove(p, op.MissingOK, false); err != nil {
				return nil, opError(op, err)
			}
		case OpLink:
			if err := checkWritable(op.Target); err != nil {
				return nil, err
			}
			if err := ev.link(op.Ref, op.Target.String()); err != nil {
				return nil, opError(op, err)
			}
			links = append(links, pending{p, op.Target.String()})
		case OpUnlink:
			if err := ev.remove(p, true, true); err != nil {
				return nil, opError(op, err)
			}
		case OpExpect:
			if err := ev.expect(p, op.Value); err != nil {
				return nil, opError(op, err)
			}
		default:
			return nil, fmt.Errorf("unknown operation %d", op.Kind)
		}
	}
	// Links made by this transaction need their targets in the final state.
	for _, l := range links {
		o, err := ev.get(l.link)
		if err != nil {
			return nil, err
		}
		if o == nil || !o.isLink() || o.target != l.target {
			continue // removed or re-pointed later in the transaction
		}
		t, err := ev.get(l.target)
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, &OpError{Ref: l.link, Err: notFound(": link target %s", l.target)}
		}
		if !t.isLink() {
			ev.addBackref(l.target, t, l.link)
		}
	}
	var out []change
	for _, p := range ev.order {
		var data []byte
		if o := ev.objs[p]; o != nil {
			b, err := o.encode()
			if err != nil {
				return nil, &OpError{Ref: p, Err: err}
			}
			if len(b) > MaxDocumentSize {
				return nil, &OpError{Ref: p, Err: fmt.Errorf("the stored document would take %d bytes, over the document size limit (%d MiB)", len(b), MaxDocumentSize>>20)}
			}
			data = b
		}
		old := ev.orig[p]
		if (data == nil) == (old == nil) && bytes.Equal(data, old) {
			continue
		}
		out = append(out, change{ref: p, data: data, old: old, oldUnknown: ev.unreadable[p]})
	}
	return out, nil
}

// OpError is the failure of one operation of a transaction.
type OpError struct {
	Ref string
	Err error
}

func (e *OpError) Error() string { return e.Ref + ": " + e.Err.Error() }
func (e *OpError) Unwrap() error { return e.Err }

func opError(op Op, err error) error { return &OpError{Ref: op.Ref.String(), Err: err} }

// checkWritable refuses refs that cannot name a stored object.
func checkWritable(r ref.Ref) error {
	switch s := r.String(); {
	case r.IsZero():
		return errors.New("empty ref")
	case r.IsRelative():
		return &OpError{Ref: s, Err: errors.New("relative ref given to the store")}
	case r.Fragment != "":
		return &OpError{Ref: s, Err: &Error{Code: EFragment, Msg: "cannot write a fragment; write the whole document"}}
	case len(s) > ref.MaxLen:
		// Refs built from valid parts (a long repo name, say) can still
		// be too long to be a ref: the parser says why.
		_, err := ref.Parse(s)
		return err
	}
	return nil
}

// check refuses a transaction with an operation no store may write (see
// checkWritable), before any part of it is committed.
func (tx *Tx) check() error {
	for _, op := range tx.Ops {
		if err := checkWritable(op.Ref); err != nil {
			return err
		}
		if op.Kind == OpLink {
			if err := checkWritable(op.Target); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ev *evaluation) get(p string) (*object, error) {
	if o, ok := ev.objs[p]; ok {
		return o, nil
	}
	data, err := ev.v.readObject(p)
	if errors.Is(err, errNoObject) {
		ev.track(p, nil, nil)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o, err := decodeObject(objectPath(p), data)
	if err != nil {
		return nil, err
	}
	ev.track(p, data, o)
	return o, nil
}

// dropCorrupt makes a corrupt object at p count as nothing stored (its
// bytes stay the original, so removing it is a change; when they cannot be
// read the original is marked unknown). It returns the E_CORRUPT error when
// p was corrupt.
func (ev *evaluation) dropCorrupt(p string) error {
	if _, ok := ev.objs[p]; ok {
		return nil
	}
	_, err := ev.get(p) // tracks what it reads
	if CodeOf(err) != ECorrupt {
		return nil // readable, nothing stored, or a failure get reports again
	}
	data, rerr := ev.v.readObject(p)
	if rerr != nil {
		data = []byte{} // present, content unknown
		ev.unreadable[p] = true
	}
	ev.track(p, data, nil)
	ev.corrupt[p] = true
	return err
}

func (ev *evaluation) track(p string, data []byte, o *object) {
	ev.orig[p] = data
	ev.objs[p] = o
	ev.order = append(ev.order, p)
}

// set replaces the object at p; callers have read p with get first, so its
// original bytes are tracked.
func (ev *evaluation) set(p string, o *object) { ev.objs[p] = o }

func (ev *evaluation) put(r ref.Ref, v any, createOnly bool) error {
	p := r.String()
	cur, err := ev.get(p)
	if err != nil {
		return err
	}
	if cur != nil && cur.isLink() {
		return errorf(EIsLink, "a link is stored here (-> %s); write the target instead", cur.target)
	}
	for _, pos := range linkPositions(r) {
		if pos == p {
			continue
		}
		o, err := ev.get(pos)
		if err != nil {
			return err
		}
		if o != nil && o.isLink() {
			return errorf(EUnderLink, "lies under link %s; write %s instead", pos, o.target+strings.TrimPrefix(p, pos))
		}
	}
	if createOnly && cur != nil {
		return errorf(EConflict, "already exists (concurrent writer)")
	}
	body, err := marshalValue(v)
	if err != nil {
		return fmt.Errorf("cannot encode value: %w", err)
	}
	n := &object{kind: kindDoc, body: body}
	if cur != nil {
		n.links = cur.links
	}
	ev.set(p, n)
	return nil
}

// remove deletes the object at p; onlyLink refuses documents (Unlink).
func (ev *evaluation) remove(p string, missingOK, onlyLink bool) error {
	cur, err := ev.get(p)
	if err != nil {
		return err
	}
	if cur == nil {
		if missingOK {
			return nil
		}
		return notFound("")
	}
	if onlyLink && !cur.isLink() {
		return errorf(EIsDoc, "a document is stored here; it cannot become a link")
	}
	if cur.isLink() {
		if err := ev.dropBackref(cur.target, p); err != nil {
			return err
		}
	}
	ev.set(p, nil)
	return nil
}

func (ev *evaluation) link(l ref.Ref, target string) error {
	if !isLinkPosition(l) {
		return errorf(EBadLink, "links can only be stored at release level or below a subpath")
	}
	p := l.String()
	cur, err := ev.get(p)
	if err != nil {
		return err
	}
	if cur != nil && !cur.isLink() {
		return errorf(EIsDoc, "a document is stored here; it cannot become a link")
	}
	if cur != nil && cur.target == target {
		return nil
	}
	if cur != nil {
		if err := ev.dropBackref(cur.target, p); err != nil {
			return err
		}
	}
	ev.set(p, &object{kind: kindLink, body: linkBody(target), target: target})
	return nil
}

// expect checks the object at p against v (nil: nothing stored).
func (ev *evaluation) expect(p string, v any) error {
	cur, err := ev.get(p)
	if err != nil {
		return err
	}
	changed := errorf(EConflict, "changed by another writer")
	switch {
	case v == nil && cur == nil:
		return nil
	case v == nil || cur == nil || cur.isLink():
		return changed
	}
	want, err := canonical(v)
	if err != nil {
		return err
	}
	got, err := canonical(json.RawMessage(cur.body))
	if err != nil || !bytes.Equal(got, want) {
		return changed
	}
	return nil
}

// canonical encodes a JSON value compactly with object keys sorted.
func canonical(v any) ([]byte, error) {
	raw, err := marshalValue(v)
	if err != nil {
		return nil, err
	}
	generic, err := DecodeValue(raw)
	if err != nil {
		return nil, err
	}
	return marshalValue(generic)
}

func (ev *evaluation) dropBackref(target, link string) error {
	t, err := ev.get(target)
	if err != nil || t == nil || t.isLink() || !slices.Contains(t.links, link) {
		return err
	}
	n := *t
	n.links = slices.DeleteFunc(slices.Clone(t.links), func(s string) bool { return s == link })
	ev.set(target, &n)
	return nil
}

func (ev *evaluation) addBackref(target string, t *object, link string) {
	if slices.Contains(t.links, link) {
		return
	}
	n := *t
	n.links = append(slices.Clone(t.links), link)
	ev.set(target, &n)
}
