package contract

import "go.temporal.io/sdk/temporal"

// Custom search attributes, registered by the local stack, the compose
// setup and the end-to-end tests. They make runs filterable in the
// Temporal UI and by `starter list`. Keyword only: SQL visibility allows
// ten Keyword attributes per namespace. Never put prompts or other user
// content here: search attributes are stored unencrypted.
var (
	// SAEndpoint is the catalogue name, e.g. images/text2img.
	SAEndpoint = temporal.NewSearchAttributeKeyKeyword("GenflowEndpoint")
	// SAModel is the model_id parameter, when given.
	SAModel = temporal.NewSearchAttributeKeyKeyword("GenflowModel")
	// SAOwner is GenerationInput.Owner.
	SAOwner = temporal.NewSearchAttributeKeyKeyword("GenflowOwner")
	// SAState is the Phase of a generation, or the state of a batch or
	// pipeline.
	SAState = temporal.NewSearchAttributeKeyKeyword("GenflowState")
	// SAParentID is the ID of the batch or pipeline a run belongs to.
	SAParentID = temporal.NewSearchAttributeKeyKeyword("GenflowParentID")
)

// SearchAttributeNames lists every custom search attribute with its type,
// as `temporal operator search-attribute create` and the dev server's
// --search-attribute flag take them.
var SearchAttributeNames = []string{
	"GenflowEndpoint=Keyword",
	"GenflowModel=Keyword",
	"GenflowOwner=Keyword",
	"GenflowState=Keyword",
	"GenflowParentID=Keyword",
}

// SearchAttributes returns the keys, for registering them with a dev
// server (testsuite.DevServerOptions.SearchAttributes).
func SearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SAEndpoint.ValueSet(""), SAModel.ValueSet(""), SAOwner.ValueSet(""),
		SAState.ValueSet(""), SAParentID.ValueSet(""),
	)
}

// GenerationSearchAttributes are the search attributes a Generation run
// starts with: its endpoint (the catalogue name), its model_id parameter
// and its owner when set, and the phase PhaseSubmitting. The run upserts
// GenflowState as it moves.
func GenerationSearchAttributes(endpoint string, params map[string]any, owner string) []temporal.SearchAttributeUpdate {
	ups := []temporal.SearchAttributeUpdate{
		SAEndpoint.ValueSet(endpoint),
		SAState.ValueSet(string(PhaseSubmitting)),
	}
	if m, ok := params["model_id"].(string); ok && m != "" {
		ups = append(ups, SAModel.ValueSet(m))
	}
	if owner != "" {
		ups = append(ups, SAOwner.ValueSet(owner))
	}
	return ups
}
