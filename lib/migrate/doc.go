// Package migrate converts the stores written by the later Ocuroot releases
// into store format 1, the format ocu reads and writes: `ocuroot state
// migrate`.
//
// Ocuroot v0.3.11 to v0.3.16 write store format 2 and v0.3.17-1 format 3.
// Their stores differ from format 1 in these ways, each undone here:
//
//   - Intent is told apart from state only by the store holding it (the
//     intent= store, or the intent/ folder of a single store), and intent
//     refs carry "@". Migrated intent refs carry "+".
//   - Releases are @r1, @r2…; call/ is task/ and the old task/ (check_envs)
//     is op/. Migrated refs are @1, call/ and task/, in ref names and in the
//     refs inside documents (input refs, dependency globs, releases, link
//     targets).
//   - A run …/@rN/task|deploy/X/K is one document {type, release,
//     functions: [{fn, dependencies, inputs}], output, watch_files} with a
//     status marker …/K/status/S and logs …/K/logs. It becomes a format 1
//     chain {type, release, entrypoint, output[, reason]} with one function
//     document per entry of functions: every function but the last
//     complete, the last with the run's status, its outputs the run's output
//     when the run completed; each function's history holds one entry, its
//     status at the time of the run's status marker (the later formats keep
//     no other times). Status markers are written at run, function
//     and work-item level (the item's marker is the status of its latest
//     finished run). A run left "paused" is pending in format 1 (nothing
//     about waiting is stored); a run left "running" keeps its last function
//     running, for `ocuroot release retry --running`. A teardown is recorded
//     as caused by its deploy intent (reason "intent"), so it stays down.
//   - The work item summary …/@rN/X/Y {run_ref, type, release, input,
//     output} becomes the format 1 work copy (the chain document of its run),
//     and the links …/@/X/Y that point at summaries point at the run's chain.
//     The links …/@/call/C/K and …/@/deploy/E/K that format 1 keeps for every
//     completed chain are added.
//   - Release documents list phases[].tasks[{task|deploy}]; format 1 lists
//     phases[].work[{call|deploy}]. Deploy intents gain type "".
//
// What format 1 cannot hold is dropped and listed, one line each: push
// documents (v0.3.17-1's ocuroot push), watch files of runs, the Remotes of
// repo config documents, tags that are numbers (@123 would name a release),
// the links the old clients left at the store root, and log attributes
// other than col, filename, line and thread (debug stacks).
//
// The source is only read: a folder is walked, a git branch is fetched into
// the cache of $OCUROOT_HOME. The destination must be absent or empty; each
// destination store is written by one transaction (on git, one commit).
package migrate
