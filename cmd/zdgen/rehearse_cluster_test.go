package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/rehearse"
)

// TestRehearseClusterUsageErrors: every mistake that needs no cluster, and
// a cluster that does not answer, exit 2 with a message naming it.
func TestRehearseClusterUsageErrors(t *testing.T) {
	dir := copyExample(t, "http-greeter")
	kubeconfig := nowhereKubeconfig(t)
	images := []string{"--image", "greeter:1", "--load-image", "greeter-loadtest:1"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rehearse", dir, "--image", "greeter:1"}, "--image: only with --cluster"},
		{[]string{"rehearse", dir, "--keep", "--namespace", "x"}, "--namespace, --keep: only with --cluster"},
		{[]string{"rehearse", dir, "--cluster", "--kubeconfig", kubeconfig}, "--image: required"},
		{append([]string{"rehearse", dir, "--cluster", "--kubeconfig", kubeconfig, "--lag", "1s"}, images...), "--lag"},
		{append([]string{"rehearse", dir, "--cluster", "--kubeconfig", kubeconfig, "--pull-policy", "Maybe"}, images...), "--pull-policy"},
		{append([]string{"rehearse", dir, "--cluster", "--kubeconfig", kubeconfig, "-n", "Bad_Name"}, images...), "--namespace"},
		{append([]string{"rehearse", dir, "--cluster", "--kubeconfig", filepath.Join(dir, "no-such-config")}, images...), "kubeconfig"},
		{append([]string{"rehearse", dir, "--cluster", "--kubeconfig", kubeconfig, "--context", "elsewhere"}, images...), `context "elsewhere" does not exist`},
		{append([]string{"rehearse", dir, "--cluster", "--kubeconfig", kubeconfig}, images...), `cannot reach the cluster at https://127.0.0.1:1 (context "nowhere")`},
		{append([]string{"rehearse", t.TempDir(), "--cluster", "--kubeconfig", kubeconfig}, images...), "not a zdgen repository"},
	} {
		code, _, errOut := zdgen(t, nil, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 naming %q", c.args[2:], code, errOut, c.want)
		}
	}
}

// TestGeneratedMakefileRehearseCluster runs the generated Makefile's
// rehearse-cluster target with ZDGEN standing in as printf, and feeds the
// command line it would run to zdgen: its flags must parse and pass every
// check, up to the cluster, which here does not answer (exit 2 naming it).
func TestGeneratedMakefileRehearseCluster(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	for _, ex := range []string{"http-greeter", "grpc-worker"} {
		dir := copyExample(t, ex)
		mk, err := os.ReadFile(filepath.Join("..", "..", "examples", ex, "Makefile"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "Makefile"), string(mk))
		kubeconfig := nowhereKubeconfig(t)
		cmd := exec.Command("make", "-s", "rehearse-cluster", `ZDGEN=printf '%s\n'`, "IMAGE=svc:1", "LOAD_IMAGE=svc-loadtest:1",
			"CLUSTER_FLAGS=--kubeconfig "+kubeconfig+" --pull-policy Never")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: make rehearse-cluster: %v\n%s", ex, err, out)
		}
		args := strings.Split(strings.TrimSpace(string(out)), "\n")
		for i, a := range args {
			if a == "." {
				args[i] = dir
			}
		}
		for _, want := range []string{"--cluster", "--image svc:1", "--load-image svc-loadtest:1", "--rate 500", "--conns 50", "--rollouts 3", "--pull-policy Never"} {
			if !strings.Contains(strings.Join(args, " "), want) {
				t.Errorf("%s: make rehearse-cluster runs %q, without %s", ex, args, want)
			}
		}
		code, _, errOut := zdgen(t, nil, args...)
		if code != exitUsage || !strings.Contains(errOut, "cannot reach the cluster at https://127.0.0.1:1") {
			t.Errorf("%s: %q: exit %d, %q; want the flags accepted and exit 2 at the unreachable cluster", ex, args, code, errOut)
		}
	}
}

// nowhereKubeconfig is a kubeconfig whose cluster is a port where nothing
// listens.
func nowhereKubeconfig(t *testing.T) string {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: nowhere, context: {cluster: c, user: u}}]
current-context: nowhere
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// TestWriteRehearsalNamesTheCluster: the text result of a cluster
// rehearsal says where it ran, not the local proxy's counters.
func TestWriteRehearsalNamesTheCluster(t *testing.T) {
	r := &rehearse.Result{Service: "greeter", Protocol: "http", Replicas: 3,
		Cluster: &rehearse.ClusterInfo{Context: "kind-kind", Namespace: "zdgen-rehearse-abc123", Image: "greeter:dev", LoadImage: "greeter-loadtest:dev"}}
	r.Load.Total, r.Load.OK = 100, 100
	var b strings.Builder
	writeRehearsal(&b, r, "")
	out := b.String()
	if !strings.Contains(out, `cluster: context "kind-kind", namespace zdgen-rehearse-abc123 (deleted), image greeter:dev, load client greeter-loadtest:dev`) ||
		strings.Contains(out, "proxy:") || !strings.Contains(out, "RESULT: PASS") {
		t.Errorf("text result:\n%s", out)
	}
}
