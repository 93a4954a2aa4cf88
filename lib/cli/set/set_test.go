package set_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/set"
)

// repeated is a reader of n copies of the byte c, without holding them.
type repeated struct {
	c byte
	n int64
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.c
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// TestBatchLineTooLong feeds a batch whose third line is longer than
// cli.MaxLine: the error names the line and the limit, exit 2, and the
// lines before it are not written either.
func TestBatchLineTooLong(t *testing.T) {
	dir := t.TempDir()
	cfg := "ocuroot(\"0.3.0\")\nrepo_alias(\"example\")\nstore.set(store.fs(\".store/state\"), intent=store.fs(\".store/intent\"))\n"
	if err := os.WriteFile(filepath.Join(dir, "repo.ocu.star"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	stdin := io.MultiReader(
		strings.NewReader(`{"ref":"+/custom/a","value":1}`+"\n\n"),
		strings.NewReader(`{"ref":"+/custom/b","value":"`),
		&repeated{c: 'x', n: cli.MaxLine},
		strings.NewReader("\"}\n"),
	)
	ctx := cli.WithEnv(context.Background(), cli.Env{Dir: dir, Environ: []string{"OCUROOT_HOME=" + t.TempDir()}})
	var stdout, stderr bytes.Buffer
	code := cli.Run(ctx, set.Command, nil, cli.IO{Stdin: stdin, Stdout: &stdout, Stderr: &stderr})
	want := "ocu-set: stdin: line 3 is longer than 64 MiB, the limit of one line\n"
	if code != 2 || stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, stdout.String(), stderr.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, ".store/intent/refs/+/custom/a")); !os.IsNotExist(err) {
		t.Errorf("+/custom/a was written (%v): a batch is all or nothing", err)
	}
}
