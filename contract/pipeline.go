package contract

import (
	"strconv"
	"time"
)

// Names of the Pipeline workflow.
const (
	// PipelineWorkflow is the registered name of the workflow that runs a
	// compiled pipeline (a PipelinePlan). Its workflow ID is the pipeline
	// ID; each step runs as a Generation child whose track_id is
	// PipelineStepTrackID(pipelineID, step, index).
	PipelineWorkflow = "Pipeline"
	// PipelineStateQuery returns the live PipelineState of a Pipeline
	// workflow.
	PipelineStateQuery = "pipeline-state"
)

// ErrTypePipelineStepFailed is the error type of a Pipeline workflow that
// failed because one of its steps failed (and that step did not say
// continue_on_error). The message names the step and carries the
// provider's message; the details are the PipelineResult so far.
const ErrTypePipelineStepFailed = "PipelineStepFailed"

// PipelinePlan is the Pipeline workflow's input: a pipeline file that was
// parsed, validated and compiled with its input values (package
// pipeline). Steps are in dependency (topological) order. Parameters are
// templates: strings may hold references (${inputs.x},
// ${steps.s.output[0]}, ${item}, ${index}) that the workflow resolves as
// the steps they name complete.
type PipelinePlan struct {
	// Name is the pipeline's name from the file.
	Name string `json:"name"`
	// Source is the file the plan was compiled from, for messages.
	Source string `json:"source,omitempty"`
	// Inputs are the input values: those given at run time, else the
	// declared defaults.
	Inputs map[string]any `json:"inputs,omitempty"`
	// Steps are the steps in dependency order.
	Steps []PipelineStep `json:"steps"`
	// Owner is a free label of who asked, passed to every generation.
	Owner string `json:"owner,omitempty"`
	// MaxRunning caps the generations in flight across all steps. Zero
	// means DefaultPipelineMaxRunning.
	MaxRunning int `json:"max_running,omitempty"`
	// Store asks every generation to store its outputs
	// (GenerationInput.Store); each step's Stored lists the copies.
	Store bool `json:"store,omitempty"`
	// NotifyURL, when set, receives a signed Notification when the
	// pipeline ends, as a generation's NotifyURL does.
	NotifyURL string `json:"notify_url,omitempty"`
}

// DefaultPipelineMaxRunning keeps a pipeline well under Temporal's 2,000
// pending children per run, at the 500 its docs advise, however many
// mapped steps run side by side.
const DefaultPipelineMaxRunning = 500

// PipelineStep is one step of a PipelinePlan.
type PipelineStep struct {
	// Name is the step's name, unique in the pipeline.
	Name string `json:"name"`
	// Endpoint is the catalogue name, such as "images/text2img".
	Endpoint string `json:"endpoint"`
	// Params are the parameter templates.
	Params map[string]any `json:"params,omitempty"`
	// Map, when not nil, makes the step run once per element of a list:
	// either a literal list or a whole-string reference to one. Inside
	// Params, ${item} and ${index} then name the element and its
	// position.
	Map any `json:"map,omitempty"`
	// DependsOn names the steps whose outputs the step references.
	DependsOn []string `json:"depends_on,omitempty"`
	// ContinueOnError keeps the pipeline running when the step fails;
	// the steps that depend on it are skipped.
	ContinueOnError bool `json:"continue_on_error,omitempty"`
	// Deadline bounds each generation of the step; zero means the
	// endpoint category's default.
	Deadline time.Duration `json:"deadline,omitempty"`
	// Priority is the step's generations' priority at the account
	// limiter (1 to PriorityMax); zero means PriorityInteractive.
	Priority int `json:"priority,omitempty"`
}

// Mapped reports whether the step runs once per element of a list.
func (s PipelineStep) Mapped() bool { return s.Map != nil }

// PipelineStepTrackID is the track_id (= workflow ID) of a step's
// generation: "<pipeline>_<step>", and "<pipeline>_<step>_<index>" for
// the items of a mapped step (index < 0 means not mapped).
func PipelineStepTrackID(pipelineID, step string, index int) string {
	id := pipelineID + "_" + step
	if index >= 0 {
		id += "_" + strconv.Itoa(index)
	}
	return id
}

// PipelineStatus is where a pipeline stands.
type PipelineStatus string

// The statuses of a pipeline.
const (
	PipelineRunning   PipelineStatus = "running"
	PipelineSucceeded PipelineStatus = "succeeded"
	// PipelinePartial: the pipeline completed, but steps marked
	// continue_on_error failed (and their dependents were skipped).
	PipelinePartial  PipelineStatus = "partial"
	PipelineFailed   PipelineStatus = "failed"
	PipelineCanceled PipelineStatus = "canceled"
)

// StepStatus is where one step (or one item of a mapped step) stands.
type StepStatus string

// The statuses of a step.
const (
	StepPending   StepStatus = "pending"
	StepRunning   StepStatus = "running"
	StepSucceeded StepStatus = "succeeded"
	StepFailed    StepStatus = "failed"
	// StepSkipped: never started, because a step it depends on failed or
	// was skipped, or because the pipeline failed or was cancelled first.
	StepSkipped StepStatus = "skipped"
	// StepCanceled: started, then cancelled (the pipeline was cancelled,
	// or another step failed it).
	StepCanceled StepStatus = "canceled"
)

// Terminal reports whether the status is final.
func (s StepStatus) Terminal() bool {
	return s == StepSucceeded || s == StepFailed || s == StepSkipped || s == StepCanceled
}

// PipelineState is the PipelineStateQuery answer, and the core of the
// PipelineResult.
type PipelineState struct {
	PipelineID string         `json:"pipeline_id"`
	Name       string         `json:"name"`
	Status     PipelineStatus `json:"status"`
	// Steps are every step, in plan order.
	Steps       []StepState `json:"steps"`
	StartedAt   time.Time   `json:"started_at"`
	CompletedAt time.Time   `json:"completed_at,omitempty"`
	// Error says why the pipeline failed or was cancelled.
	Error string `json:"error,omitempty"`
	// Notified says how the end-of-run notification went, when the
	// pipeline has a NotifyURL: "sending", "delivered" or "failed: ...".
	Notified string `json:"notified,omitempty"`
}

// Step returns the state of the step called name, and whether there is
// one.
func (s PipelineState) Step(name string) (StepState, bool) {
	for _, st := range s.Steps {
		if st.Name == name {
			return st, true
		}
	}
	return StepState{}, false
}

// StepState is one step's state.
type StepState struct {
	Name     string     `json:"name"`
	Endpoint string     `json:"endpoint"`
	State    StepStatus `json:"state"`
	// DependsOn names the steps this one waits for.
	DependsOn []string `json:"depends_on,omitempty"`
	// Mapped is true for a step that runs once per element of a list;
	// its generations are in Items.
	Mapped bool `json:"mapped,omitempty"`
	// TrackID is the generation's track_id (not mapped steps).
	TrackID string `json:"track_id,omitempty"`
	// Output are the step's output URLs; for a mapped step, every
	// item's outputs in item order.
	Output []string `json:"output,omitempty"`
	// Stored are the durable copies of Output, in the same order, when
	// the plan asked to Store them.
	Stored []StoredOutput `json:"stored,omitempty"`
	// Items are a mapped step's generations, in list order.
	Items       []ItemState `json:"items,omitempty"`
	Error       string      `json:"error,omitempty"`
	StartedAt   time.Time   `json:"started_at,omitempty"`
	CompletedAt time.Time   `json:"completed_at,omitempty"`
}

// ItemState is one generation of a mapped step.
type ItemState struct {
	Index   int        `json:"index"`
	TrackID string     `json:"track_id"`
	State   StepStatus `json:"state"`
	Output  []string   `json:"output,omitempty"`
	// Stored are the durable copies of Output, when the plan asked.
	Stored []StoredOutput `json:"stored,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// PipelineResult is the Pipeline workflow's result, and the details of
// its PipelineStepFailed error.
type PipelineResult struct {
	PipelineState
	// Outputs maps each succeeded step to its outputs (a mapped step's
	// are every item's, in item order).
	Outputs map[string][]string `json:"outputs"`
	// Failed maps each failed step to its error message.
	Failed map[string]string `json:"failed,omitempty"`
}
