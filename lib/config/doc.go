// Package config finds and evaluates the repo configuration: repo.ocu.star,
// the store locations, the repo identity R and the current commit H
// (docs/engine.md §1).
//
// # SYNOPSIS
//
//	c, err := config.Load(ctx, config.Options{
//		Dir:     wd,          // absolute, -C applied
//		Environ: os.Environ(),
//		Stderr:  os.Stderr,
//		// --state-store, --intent-store, --repo, --repo-url-override,
//		// --repo-commit-override, already merged with OCU_* variables
//	})
//	c.State, c.Intent    // store locations; c.State.Same(c.Intent) → one store
//	r, err := c.RepoName() // on demand: may read .git/config
//	h, err := c.Commit()   // on demand: may read HEAD
//
// # DISCOVERY
//
// Load walks up from Options.Dir. The first folder holding repo.ocu.star
// makes repo mode (that folder is the repo root); one holding
// .ocuroot-store first makes store mode (that folder is one filesystem
// store for both roles; no repo configuration, no commit). With neither,
// --state-store is required, else:
//
//	repo.ocu.star not found in <dir> or any parent directory (create one, or pass --state-store)
//
// --state-store replaces the configured pair of stores (the intent store
// is then --intent-store, or the same store); --intent-store alone
// replaces the intent store only.
//
// # EVALUATION
//
// repo.ocu.star is evaluated with the SDK of package sdk (ocuroot, host.*
// and its bare aliases, secret, json, struct, print, load) plus
// repo_alias, store.fs, store.git, store.set and trigger. Builtins of
// package files fail with "<name>() is not available in repo.ocu.star".
// Messages name the file relative to the repo root:
//
//	repo.ocu.star:3:10: store.set() called twice
//	repo.ocu.star does not call store.set(...)
//
// print() and host.shell output go to Options.Stderr as "<file>> <text>",
// masked. Evaluation never touches a store. Evaluate evaluates a source
// on its own (stored configurations for triggers, with load() disabled).
//
// # LOCATIONS
//
// A Location names a store: Kind "fs" with an absolute cleaned Path, or
// Kind "git" with a redacted URL (user-info and trailing "/" removed,
// local paths absolute), the credentialed Remote for the transport, a
// Branch, CreateBranch and SupportFiles. ParseLocation reads the location
// strings of the command line (PATH, git+URL, git+URL#BRANCH); Same tells
// whether two locations are one store; String prints credentials as ***.
// Load registers the Credential of both stores' URLs and the values of
// OCU_GIT_TOKEN and OCU_GIT_SSH_KEY_PASSPHRASE as secrets, so they are
// masked wherever they would be printed or stored.
//
// # IDENTITY AND COMMIT
//
// RepoName: --repo, else repo_alias(), else OverrideRepoName of
// --repo-url-override, else NormalizeURL of the git remote "origin" of the
// repository containing the repo root. Commit: --repo-commit-override,
// else the id of HEAD. Both are computed once, on first use, so tools that
// need neither never open git.
package config
