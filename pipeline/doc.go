// Package pipeline reads, validates and compiles pipeline files: named
// inputs and named steps, each a ModelsLab generation whose parameters
// may reference the inputs and earlier steps' outputs, such as
//
//	steps:
//	  portrait:
//	    endpoint: text2img
//	    params: {model_id: flux, prompt: "${inputs.subject}"}
//	  animate:
//	    endpoint: img2video
//	    params: {model_id: svd, init_image: "${steps.portrait.output[0]}"}
//
// Parse reports every problem at once, each located by file, line and
// field (an unknown endpoint, a missing required parameter, a reference
// to an unknown step or input, an output index that cannot exist, a
// dependency cycle). Pipeline.Plan compiles a valid file with its input
// values into a contract.PipelinePlan, the input of the Pipeline
// workflow, which resolves references with Resolve as steps complete.
// Resolve and StepSummary are deterministic and do no I/O, so workflow
// code may call them.
//
// docs/pipelines.md is the file format reference.
package pipeline
