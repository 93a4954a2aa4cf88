// Package view is the web UI of Ocuroot state (docs/cli.md §2.6): an
// http.Handler that shows a store's documents as pages a person can read and
// follow, and never writes.
//
// # Pages
//
//	/                 environments and what is deployed in each; packages
//	                  with their latest release and its status; custom
//	                  state; intent that differs from state
//	/ref/<ref>        the document at ref, pretty-printed and highlighted:
//	                  breadcrumb, "link → target" when a link was followed,
//	                  refs inside the document as links, back-links,
//	                  children; and by kind of ref:
//	                    R/-/F             releases newest first with status,
//	                                      deployments, custom state
//	                    R/-/F/@N          phases → work items → runs →
//	                                      functions: status, inputs,
//	                                      outputs, errors, logs
//	                    @/environment/E   every deployment to E
//	                    …/K, …/functions/I, …/K/logs   a run, a function, a log
//	/match/<glob>     the refs matching glob, with a search box
//	/work             pending and running functions and what each waits for
//	/api/get/<ref>    the value as JSON; 404 with {"error": …}
//	/api/match/<glob> a JSON array of refs
//
// A ref or glob is the rest of the URL path, percent-decoded; '+' is a plus,
// not a space. A ref with nothing stored at it and nothing below it is a 404
// page. Statuses follow docs/engine.md §7; a release's status is computed from the
// latest chain of each of its work items.
//
// # Safety
//
// Only GET and HEAD are served; any other method gets 405 with
// "Allow: GET, HEAD". Document text reaches pages only through html/template
// (no template.HTML anywhere), so stored strings cannot inject markup, and a
// Content-Security-Policy forbids scripts altogether: the view has none. With
// [Options].LoopbackOnly, requests naming another host are refused (DNS
// rebinding). Templates, the stylesheet and the icon are embedded; pages load
// nothing from elsewhere and work offline. Auto-refresh is a link that adds
// ?refresh=1, which makes the page reload itself every 5 seconds.
//
// # Performance
//
// Every page reads through the store API ([store.Store] Get, Children,
// Match) and never walks the whole store except /work and globs that start
// with a metacharacter. The index lists folders down to the packages, reads
// each latest release's status from its work items' run and status folders
// and follows the deployment links: on the 90,000-document benchmark store
// it renders in about 35 ms (BenchmarkPages). One exception to the API:
// store.Children cannot list a repo level ("R/-/"), so a filesystem store's
// repo folder is read directly (names only) and other stores are walked.
package view
