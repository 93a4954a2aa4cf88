package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ocu-team/ocu/internal/historytest"
)

// TestHistoryScripts runs testdata/history/*.txtar: the tools on a repo
// whose store holds a long release history, to pin that open work hidden
// in old releases is found end to end (see docs/open-work.md).
func TestHistoryScripts(t *testing.T) {
	p := scriptParams("fs", "testdata/history", nil)
	p.Cmds["history"] = history
	testscript.Run(t, p)
}

// history writes into the current folder a repo whose filesystem store
// (.store, state and intent) holds N releases of example/-/app.ocu.star
// (historytest.Build): release k made at commit $Ck, the latest deployed
// to staging and production. The tools run with --repo-commit-override
// $Ck as in a checkout of that commit.
func history(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: history N")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		ts.Fatalf("history: invalid N %q", args[0])
	}
	dir := ts.MkAbs(".")
	h, err := historytest.Build(context.Background(), dir, n)
	ts.Check(err)
	ts.Check(h.Close())
	repoConfig := "ocuroot(\"0.3.0\")\nrepo_alias(\"" + historytest.Repo + "\")\nstore.set(store.fs(\".store\"))\n"
	ts.Check(os.WriteFile(filepath.Join(dir, "repo.ocu.star"), []byte(repoConfig), 0o644))
	for k := 1; k <= n; k++ {
		ts.Setenv(fmt.Sprintf("C%d", k), historytest.Commit(k))
	}
}
