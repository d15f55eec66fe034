package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/starter"
)

// catalogueParams are parameters that satisfy ep's documented
// requirements: a URL or a word for each required field, and the few
// fields whose type or rule the docs fix.
func catalogueParams(ep modelslab.Endpoint) map[string]any {
	params := map[string]any{}
	for _, f := range ep.Required {
		name := strings.Split(f, "|")[0]
		params[name] = "https://inputs.example/" + name
	}
	switch ep.Name {
	case "voice/song_generator":
		params["lyrics"] = "[00:01.00]la la la"
	case "image_editing/img_mixer":
		params["init_image"] = []string{"https://inputs.example/a.png", "https://inputs.example/b.png"}
	case "lora_fine_tune", "fine_tune":
		params["images"] = []string{"https://inputs.example/1.png"}
		params["max_train_steps"] = 100
	case "workflows/run":
		params["workflow_id"] = "wf-catalogue"
	}
	return params
}

// TestEveryCatalogueEndpointWithStarter runs `starter generate` for
// every catalogue entry against the whole stack (Temporal, worker,
// gateway, the fake provider) and downloads each output: every endpoint
// genflow lists works on the local stack, with a file of its kind.
func TestEveryCatalogueEndpointWithStarter(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 100 * time.Millisecond, QueueLimit: 200})
	wantType := map[modelslab.Category]string{
		modelslab.CategoryImage: "image/", modelslab.CategoryImageEditing: "image/", modelslab.CategoryVideo: "video/",
		modelslab.CategoryAudio: "audio/", modelslab.Category3D: "model/", modelslab.CategoryWorkflow: "image/",
	}
	t.Run("group", func(t *testing.T) {
		for _, ep := range modelslab.Endpoints() {
			t.Run(ep.Name, func(t *testing.T) {
				t.Parallel()
				params, err := json.Marshal(catalogueParams(ep))
				require.NoError(t, err)
				track := "walk-" + strings.NewReplacer("/", "-").Replace(ep.Name)
				code, out := s.runStarter(t, "generate", ep.Name, "--params", string(params),
					"--track-id", track, "--wait", "--json")
				require.Equal(t, starter.ExitOK, code, "%+v", out)
				require.Equal(t, "succeeded", out.Status, "%+v", out.Error)
				if ep.Protocol == modelslab.ProtocolTraining {
					return
				}
				if ep.Protocol == modelslab.ProtocolGeneration {
					// Training and workflow runs carry no track_id.
					require.Equal(t, 1, s.fake.Submissions(track), "submitted once, counted under its track_id")
				}
				require.NotEmpty(t, out.Result.Output)
				resp, err := http.Get(out.Result.Output[0])
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
				ct := resp.Header.Get("Content-Type")
				switch ep.Name {
				case "voice/lyrics_generator", "voice/speech_to_text":
					require.True(t, strings.HasPrefix(ct, "text/plain"), ct)
				case "voice/create_dubbing":
					require.Equal(t, "video/mp4", ct)
				default:
					require.True(t, strings.HasPrefix(ct, wantType[ep.Category]), "%s: %s", ep.Category, ct)
				}
			})
		}
	})
}
