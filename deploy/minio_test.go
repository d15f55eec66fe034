package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
)

// s3Actions maps each minio-go call storage/s3.go makes to the S3 actions
// it needs; genflow's MinIO policy allows these and nothing else.
var s3Actions = map[string][]string{
	"BucketExists": {"s3:ListBucket"},
	// Only when the bucket is missing, which minio-init rules out; the
	// policy does not allow it.
	"MakeBucket": nil,
	// A large object goes up in parts.
	"PutObject":  {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads"},
	"StatObject": {"s3:GetObject"},
	"GetObject":  {"s3:GetObject"},
	// No request: the address, for messages.
	"EndpointURL": nil,
}

type policyDoc struct {
	Version   string
	Statement []struct {
		Effect   string
		Action   []string
		Resource []string
	}
}

// TestMinioPolicyAllowsTheBucketOnly reads deploy/minio/policy.json, the
// policy of genflow's MinIO user: it allows the calls genflow makes on
// its bucket (BUCKET, replaced by minio-init) and nothing on any other
// bucket, no deletion, no administration.
func TestMinioPolicyAllowsTheBucketOnly(t *testing.T) {
	t.Parallel()
	var doc policyDoc
	require.NoError(t, json.Unmarshal([]byte(readFile(t, "deploy/minio/policy.json")), &doc))
	require.Equal(t, "2012-10-17", doc.Version)
	allowed := map[string][]string{} // action -> resources
	for _, st := range doc.Statement {
		require.Equal(t, "Allow", st.Effect)
		for _, r := range st.Resource {
			require.Contains(t, []string{"arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"}, r, "a resource outside genflow's bucket")
		}
		for _, a := range st.Action {
			require.NotContains(t, a, "*", "no wildcard action")
			require.True(t, strings.HasPrefix(a, "s3:"), a)
			allowed[a] = append(allowed[a], st.Resource...)
		}
	}
	var want []string
	for _, actions := range s3Actions {
		want = append(want, actions...)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	got := make([]string, 0, len(allowed))
	for a := range allowed {
		got = append(got, a)
	}
	require.ElementsMatch(t, append(want, "s3:GetBucketLocation"), got, "what genflow calls, and no more")
	for _, a := range []string{"s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"} {
		require.Equal(t, []string{"arn:aws:s3:::BUCKET"}, allowed[a], a)
	}
	for _, a := range []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"} {
		require.Equal(t, []string{"arn:aws:s3:::BUCKET/*"}, allowed[a], a)
	}

	// The table covers every call storage/s3.go makes: a new one needs
	// its actions here and in the policy.
	src := readFile(t, "storage/s3.go")
	for _, m := range regexp.MustCompile(`client\.([A-Z][A-Za-z]+)\(`).FindAllStringSubmatch(src, -1) {
		_, ok := s3Actions[m[1]]
		require.True(t, ok, "storage/s3.go calls %s, which genflow's MinIO policy does not list", m[1])
	}
}

// TestComposeMinioInit checks the minio-init service: MinIO's own image,
// the script and policy mounted, and the bucket and user it creates being
// the ones the worker and the starter use.
func TestComposeMinioInit(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, exampleEnv(t))
	svc := p.Services["minio-init"]
	require.Equal(t, p.Services["minio"].Image, svc.Image)
	require.Equal(t, []string{"/bin/sh", "/scripts/init.sh"}, []string(svc.Entrypoint))
	require.Len(t, svc.Volumes, 1)
	require.Equal(t, filepath.Join(repoRoot, "deploy", "minio"), svc.Volumes[0].Source)
	require.FileExists(t, filepath.Join(svc.Volumes[0].Source, "policy.json"))
	require.Empty(t, svc.Ports)
	env := func(name string) string { return *svc.Environment[name] }
	require.Equal(t, "http://minio:9000", env("MINIO_URL"))
	require.Equal(t, *p.Services["minio"].Environment["MINIO_ROOT_USER"], env("MINIO_ROOT_USER"))
	require.Equal(t, *p.Services["minio"].Environment["MINIO_ROOT_PASSWORD"], env("MINIO_ROOT_PASSWORD"))

	w, err := config.LoadWorker(lookupIn(p.Services["worker"]))
	require.NoError(t, err)
	require.Equal(t, w.Store.URL, env(config.EnvStoreURL), "the bucket minio-init creates is the worker's")
	require.Equal(t, w.Store.S3.AccessKey, env("MINIO_STORE_USER"))
	require.Equal(t, w.Store.S3.SecretKey, env("MINIO_STORE_PASSWORD"))

	// Another bucket: both follow.
	e := exampleEnv(t)
	e[config.EnvStoreURL] = "s3://renders/genflow"
	p = mustLoad(t, e)
	require.Equal(t, "s3://renders/genflow", *p.Services["minio-init"].Environment[config.EnvStoreURL])
	require.Equal(t, "s3://renders/genflow", *p.Services["worker"].Environment[config.EnvStoreURL])
}

// TestMinioInitScript runs deploy/minio/init.sh against a stand-in mc that
// records its calls.
func TestMinioInitScript(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	script := filepath.Join(repoRoot, "deploy", "minio", "init.sh")
	run := func(t *testing.T, env map[string]string, attach string) (int, string, []string, string) {
		t.Helper()
		dir := t.TempDir()
		bin := filepath.Join(dir, "bin")
		require.NoError(t, os.Mkdir(bin, 0o755))
		// mc logs each call; "admin policy create" keeps the policy file;
		// "admin policy attach" answers as $ATTACH says.
		stub := `#!/bin/sh
echo "$*" >>"$LOG"
case "$1 $2 $3" in
"admin policy create") cp "$6" "$LOGDIR/policy.json" ;;
"admin policy attach")
	case "$ATTACH" in
	ok) ;;
	again) echo "mc: <ERROR> Unable to make user/group policy association. The specified policy change is already in effect." >&2; exit 1 ;;
	*) echo "mc: <ERROR> Unable to make user/group policy association. Access Denied." >&2; exit 1 ;;
	esac ;;
esac
`
		require.NoError(t, os.WriteFile(filepath.Join(bin, "mc"), []byte(stub), 0o755))
		vars := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "LOG=" + filepath.Join(dir, "log"), "LOGDIR=" + dir,
			"ATTACH=" + attach, "TMPDIR=" + dir}
		for k, v := range env {
			vars = append(vars, k+"="+v)
		}
		cmd := exec.Command("sh", script)
		cmd.Env = vars
		out, err := cmd.CombinedOutput()
		code := 0
		if err != nil {
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "%s", out)
			code = ee.ExitCode()
		}
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		policy, _ := os.ReadFile(filepath.Join(dir, "policy.json"))
		var calls []string
		if len(log) > 0 {
			calls = strings.Split(strings.TrimSpace(string(log)), "\n")
		}
		return code, string(out), calls, string(policy)
	}
	base := map[string]string{
		"MINIO_URL": "http://minio:9000", "MINIO_ROOT_USER": "genflow", "MINIO_ROOT_PASSWORD": "root-secret",
		"MINIO_STORE_USER": "genflow-store", "MINIO_STORE_PASSWORD": "store-secret", "STORE_URL": "s3://genflow-outputs/",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range base {
			m[kk] = vv
		}
		m[k] = v
		return m
	}

	t.Run("creates the bucket, the policy and the user", func(t *testing.T) {
		code, out, calls, policy := run(t, with(config.EnvStoreURL, "s3://renders/genflow/outputs"), "ok")
		require.Equal(t, 0, code, out)
		require.Equal(t, []string{
			"alias set genflow http://minio:9000 genflow root-secret",
			"mb --ignore-existing genflow/renders",
			"admin policy create genflow genflow-store " + policyPath(calls),
			"admin user add genflow genflow-store store-secret",
			"admin policy attach genflow genflow-store --user genflow-store",
		}, calls)
		require.Contains(t, out, "genflow-store may read and write s3://renders only")
		var doc policyDoc
		require.NoError(t, json.Unmarshal([]byte(policy), &doc), policy)
		require.NotContains(t, policy, "BUCKET")
		for _, st := range doc.Statement {
			for _, r := range st.Resource {
				require.Contains(t, []string{"arn:aws:s3:::renders", "arn:aws:s3:::renders/*"}, r)
			}
		}
	})
	t.Run("runs again", func(t *testing.T) {
		code, out, _, _ := run(t, base, "again")
		require.Equal(t, 0, code, out)
	})
	t.Run("a failed attach fails the job", func(t *testing.T) {
		code, out, _, _ := run(t, base, "denied")
		require.Equal(t, 1, code, out)
		require.Contains(t, out, "Access Denied")
	})
	t.Run("storing off or local: nothing to do", func(t *testing.T) {
		for _, u := range []string{"", "file:///outputs"} {
			code, out, calls, _ := run(t, with(config.EnvStoreURL, u), "ok")
			require.Equal(t, 0, code, out)
			require.Empty(t, calls)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			env  map[string]string
			want string
		}{
			{with(config.EnvStoreURL, "s3://Bad_Bucket/"), `bucket "Bad_Bucket" is not a valid bucket name`},
			{with("MINIO_STORE_USER", "genflow"), "MINIO_STORE_USER must differ from MINIO_ROOT_USER"},
			{with("MINIO_STORE_PASSWORD", ""), "MINIO_STORE_PASSWORD is empty"},
			{with("MINIO_ROOT_PASSWORD", ""), "MINIO_ROOT_PASSWORD is empty"},
		} {
			code, out, calls, _ := run(t, tt.env, "ok")
			require.Equal(t, 1, code, out)
			require.Contains(t, out, tt.want)
			require.Empty(t, calls, "nothing done")
		}
	})
}

// policyPath is the file "admin policy create" got, from the calls.
func policyPath(calls []string) string {
	for _, c := range calls {
		if f, ok := strings.CutPrefix(c, "admin policy create genflow genflow-store "); ok {
			return f
		}
	}
	return ""
}
