package state

// The documents a release writes (docs/engine.md §6), with their fields in the
// order they are written.

// FuncID names a function of a package: its name and the position of its
// def, "<module>:<line>:<column>".
type FuncID struct {
	Name string `json:"name"`
	Pos  string `json:"pos"`
}

// Key is the function's name and position, "<name>/<module>:<line>:<column>".
func (f FuncID) Key() string { return f.Name + "/" + f.Pos }

// Descriptor is one input of a function: read from Ref, else Value, else
// Default (absent fields are null).
type Descriptor struct {
	Default any    `json:"default,omitempty"`
	Doc     string `json:"doc,omitempty"`
	Ref     string `json:"ref,omitempty"`
	Value   any    `json:"value,omitempty"`
}

// Effective is the value a function receives: value if not null, else
// default if not null; ok false when the input is missing.
func (d Descriptor) Effective() (any, bool) {
	if d.Value != nil {
		return d.Value, true
	}
	if d.Default != nil {
		return d.Default, true
	}
	return nil, false
}

// Inputs are a function's inputs by name.
type Inputs map[string]Descriptor

// RepoConfig records the repo.ocu.star of a commit.
type RepoConfig struct {
	Source []byte `json:"source"` // base64 in JSON
}

// Release is the document of R/-/F/@N.
type Release struct {
	Commit  string  `json:"commit"`
	Package Package `json:"package"`
}

// Package is a compiled package: its work functions and phases.
type Package struct {
	Functions   map[string]FunctionEntry `json:"functions"`
	Phases      []Phase                  `json:"phases"`
	Deployments any                      `json:"deployments"`
}

// FunctionEntry is one entry of Package.Functions.
type FunctionEntry struct {
	Function FuncID `json:"function"`
}

// Phase is an ordered group of work items.
type Phase struct {
	Name string `json:"name"`
	Work []Work `json:"work"`
}

// Work is one work item: a call or a deploy.
type Work struct {
	Call   *CallWork   `json:"call,omitempty"`
	Deploy *DeployWork `json:"deploy,omitempty"`
}

// CallWork is a call work item.
type CallWork struct {
	Fn     FuncID `json:"fn"`
	Inputs Inputs `json:"inputs"`
	Name   string `json:"name"`
}

// DeployWork is a deploy work item.
type DeployWork struct {
	Down        FuncID `json:"down"`
	Environment string `json:"environment"`
	Inputs      Inputs `json:"inputs"`
	Up          FuncID `json:"up"`
}

// Kind returns "call" or "deploy" and the item's name.
func (w Work) Kind() (typ, name string) {
	if w.Call != nil {
		return "call", w.Call.Name
	}
	return "deploy", w.Deploy.Environment
}

// Marker is a status or commit marker.
type Marker struct {
	Time string `json:"time"`
}

// Chain is one run of a work item.
type Chain struct {
	Type       string `json:"type"` // "" for up and call chains, "down"
	Release    string `json:"release"`
	Entrypoint string `json:"entrypoint"`
	Output     any    `json:"output"`
	Reason     string `json:"reason,omitempty"` // down and cancelled chains: "environment" or "intent"
}

// Function is one step of a chain.
type Function struct {
	Current FunctionState  `json:"current"`
	History []HistoryEntry `json:"history"`
}

// FunctionState is the current state of a function.
type FunctionState struct {
	Dependencies []string       `json:"dependencies,omitempty"`
	Error        string         `json:"error,omitempty"`
	Fn           FuncID         `json:"fn"`
	ID           string         `json:"id"`
	Inputs       Inputs         `json:"inputs"`
	Outputs      map[string]any `json:"outputs,omitempty"` // left out after done() without outputs
	Runner       *Runner        `json:"runner,omitempty"`
	Status       string         `json:"status"`
}

// Runner says which process runs a function.
type Runner struct {
	Host    string `json:"host"`
	Pid     int    `json:"pid"`
	Started string `json:"started"`
}

// HistoryEntry is one status change of a function.
type HistoryEntry struct {
	Status string `json:"status"`
	Time   string `json:"time"`
}

// LogLine is one line of a chain's logs.
type LogLine struct {
	Attributes LogAttributes `json:"attributes"`
	Message    string        `json:"message"`
	Stream     int           `json:"stream"`
	Timestamp  string        `json:"timestamp"`
}

// LogAttributes locate a log line; every value is a string.
type LogAttributes struct {
	Col      string `json:"col"`
	Filename string `json:"filename"`
	Line     string `json:"line"`
	Thread   string `json:"thread"`
}

// Environment is the document of @/environment/E.
type Environment struct {
	Attributes map[string]string `json:"attributes"`
	Name       string            `json:"name"`
}

// DeployIntent is the document of R/-/F/+/deploy/E.
type DeployIntent struct {
	Type    string `json:"type"`
	Release string `json:"release"`
	Input   Inputs `json:"input"`
}

// Statuses of functions and chains (docs/engine.md §7).
const (
	StatusPending       = "pending"
	StatusRunning       = "running"
	StatusComplete      = "complete"
	StatusFailed        = "failed"
	StatusFailedRetried = "failed_retried"
	StatusCancelled     = "cancelled"
)
