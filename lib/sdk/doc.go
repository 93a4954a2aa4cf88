// Package sdk holds the Starlark pieces shared by every .ocu.star file: the
// repo configuration (repo.ocu.star, evaluated by package config) and the
// packages evaluated by the engine.
//
// # SYNOPSIS
//
//	h := &sdk.Host{Dir: root, Environ: os.Environ(), Secrets: secrets, Log: logLine}
//	ev := &sdk.Evaluator{
//		Root:        root,
//		Predeclared: func(module string) starlark.StringDict { return h.Builtins() },
//		Print:       h.Print,
//	}
//	globals, err := ev.Exec(ctx, "frontend/release.ocu.star", src)
//
// # DESCRIPTION
//
// The Starlark dialect is the one of [FileOptions]: set, while, top-level
// if/for, global reassignment and recursion are enabled. Every file MUST
// hold exactly one top-level statement ocuroot("0.3.0"); [CheckVersion]
// verifies it on the syntax tree before anything runs.
//
// An [Evaluator] executes one main file and the modules it loads. load()
// paths are relative to the loading file's folder and must stay inside the
// repo root; each module is evaluated once per Evaluator; cycles fail with
// "load cycle: a → b → a". Module file names are slash-separated paths
// relative to the repo root, so every error names the user's file:
//
//	frontend/release.ocu.star:12:5: command exited with status 1
//
// [Locate] turns syntax, resolve and evaluation errors into such a
// message, positioned at the innermost frame of user code (never at an
// SDK-internal location).
//
// A [Host] provides the builtins available everywhere (docs/engine.md §3, rows
// R P W): host.shell, host.env, host.os, host.arch, host.pwd, host.read
// (read_file), host.write (write_file), host.read_dir, host.is_dir and
// their bare aliases, http.get, http.head, http.post, http.put, http.patch,
// http.delete, secret, json, struct and ocuroot. Relative paths
// resolve against Host.Dir; the inherited environment of host.shell and
// host.env is Host.Environ, never the process environment itself, less
// ocu's own credentials (OCU_GIT_TOKEN, OCU_GIT_SSH_KEY_PASSPHRASE; see
// IsCredential): those are secrets, and a package gets one only by asking
// for it by name, host.env("OCU_GIT_TOKEN"). Output lines of host.shell
// and print() are masked, host.shell's on the whole stream (a multi-line
// secret is masked too), and handed to Host.Log.
// HTTP requests end with the thread's context (see [NewThread]), after
// timeout= seconds ([HTTPTimeout] by default) and past [HTTPBodyLimit]
// bytes of response body; the credentials of their URLs and headers are
// registered with Host.Secrets.
//
// [Secrets] collects the values registered with secret(); Mask replaces
// each of them with "<secret>", longest values first; a [MaskWriter] does
// the same on a stream written in pieces.
//
// [ToStarlark] and [FromStarlark] convert between Starlark values and JSON
// values as decoded by encoding/json with UseNumber (map[string]any, []any,
// json.Number, string, bool, nil). Integers keep arbitrary size; floats
// become a json.Number in Starlark's canonical float form (always with a
// "." or an exponent); structs become objects; anything else fails with
// "cannot encode <type> as JSON".
//
// [EvalExpr] evaluates one expression with only json, struct, True, False
// and None available (ocu-set -f starlark).
//
// Package-only and repo-only builtins are added by the callers through
// Evaluator.Predeclared, which is asked for the names of each module.
package sdk
