package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRehearseClusterUsageErrors: every mistake that needs no cluster, and
// a cluster that does not answer, exit 2 with a message naming it.
func TestRehearseClusterUsageErrors(t *testing.T) {
	dir := copyExample(t, "http-greeter")
	kubeconfig := filepath.Join(t.TempDir(), "config")
	// A cluster at a port where nothing listens.
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: nowhere, context: {cluster: c, user: u}}]
current-context: nowhere
`), 0o600); err != nil {
		t.Fatal(err)
	}
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
