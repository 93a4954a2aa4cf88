package cli

import (
	"fmt"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// ReplacingCorrupt lets the puts and deletions of tx replace or remove a
// corrupt document stored at their refs instead of failing, so the tools
// can repair what they cannot read. Once the transaction is committed,
// the returned function reports each such document once as a warning:
// "<ref>: <verb> a corrupt document (<why>)".
func (t *Tool) ReplacingCorrupt(tx *store.Tx, verb string) (report func()) {
	seen := map[string]bool{}
	var msgs []string
	tx.ReplacingCorrupt(func(r string, err error) {
		if !seen[r] {
			seen[r] = true
			msgs = append(msgs, fmt.Sprintf("%s: %s a corrupt document (%v)", r, verb, err))
		}
	})
	return func() {
		for _, m := range msgs {
			t.Warn(m)
		}
	}
}

// IntentRef parses and resolves a ref that ocu-set, ocu-delete and
// ocu-apply accept (docs/cli.md §2.3): an intent ref of type custom (global or
// local), environment (global, one name) or deploy (local, current release,
// one environment), without fragment. Refused refs are usage errors.
func (s *Session) IntentRef(input string) (ref.Ref, error) {
	r, err := s.Ref(input)
	if err != nil {
		return r, err
	}
	if err := checkIntent(r); err != nil {
		return r, &UsageErr{Err: err}
	}
	return r, nil
}

func checkIntent(r ref.Ref) error {
	if r.Marker == ref.State {
		return fmt.Errorf("state refs are written by the engine; set the intent instead: %s", r.Twin())
	}
	if r.Marker != ref.Intent {
		return fmt.Errorf("not an intent ref: expected +/custom/NAME, +/environment/NAME, FILE/+N/custom/NAME or FILE/+/deploy/ENV")
	}
	if r.Fragment != "" {
		return fmt.Errorf("cannot write a fragment; write the whole document")
	}
	oneName := !strings.Contains(r.Subpath, "/")
	switch {
	case r.Type == ref.TypeCustom && (!r.Global || r.Release == ""):
		return nil
	case r.Type == ref.TypeEnvironment && r.Global && r.Release == "" && oneName:
		return nil
	case r.Type == ref.TypeDeploy && !r.Global && r.Release == "" && oneName:
		return nil
	case r.Type == ref.TypeEnvironment:
		return fmt.Errorf("an environment intent is +/environment/NAME")
	case r.Type == ref.TypeDeploy:
		return fmt.Errorf("a deploy intent is FILE/+/deploy/ENVIRONMENT")
	case r.Type == ref.TypeCustom:
		return fmt.Errorf("global custom intent is +/custom/NAME")
	}
	return fmt.Errorf("only custom, environment and deploy intent can be written, not %s", describe(r))
}

func describe(r ref.Ref) string {
	if r.Type == "" {
		return "a release"
	}
	return fmt.Sprintf("%q", r.Type)
}
