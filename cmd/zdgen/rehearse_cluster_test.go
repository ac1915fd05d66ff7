package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		{[]string{"rehearse", dir, "--disrupt", "drain"}, "--disrupt: only with --cluster"},
		{append([]string{"rehearse", dir, "--cluster", "--kubeconfig", kubeconfig, "--disrupt", "reboot"}, images...), `--disrupt "reboot": want rollout, drain or evict`},
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

// TestRehearseHelpExplainsDisrupt: --help says what each --disrupt does,
// what a drain needs of the cluster and the permissions it adds, and
// shows an example.
func TestRehearseHelpExplainsDisrupt(t *testing.T) {
	code, out, errOut := zdgen(t, nil, "rehearse", "--help")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"--disrupt string with --cluster: how the pods are disrupted, --rollouts times: rollout (kubectl rollout restart), drain (kubectl drain of the node holding most of them) or evict (each pod evicted in turn) (default \"rollout\")",
		"it cordons the node holding most of its pods",
		"uncordons the node, always, also on an error, Ctrl-C or with --keep",
		"A drain needs two nodes the pods can be scheduled on, and three for a second drain",
		"Both need to create pods/eviction; drain also to list, get and patch nodes (cluster-wide)",
		"zdgen rehearse --cluster --disrupt drain --rollouts 1",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("rehearse --help does not say %q", want)
		}
	}
}

// TestWriteRehearsalShowsDrains: the text result of a rehearsal that
// drained nodes lists each drain, its node, evictions and refusals, in
// place of rollouts.
func TestWriteRehearsalShowsDrains(t *testing.T) {
	r := &rehearse.Result{Service: "greeter", Protocol: "http", Replicas: 3, Rate: 500, Conns: 50,
		Cluster: &rehearse.ClusterInfo{Namespace: "zdgen-rehearse-abc123"},
		Disruption: &rehearse.Disruption{Kind: "drain", Rounds: []rehearse.DisruptionRound{
			{Node: "worker-2", DurationNs: 41234 * time.Millisecond, Evictions: 2, TooManyRequests: 3},
			{Node: "worker-1", DurationNs: 20 * time.Second, Evictions: 1},
		}}}
	r.Load.Total, r.Load.OK = 100, 100
	var b strings.Builder
	writeRehearsal(&b, r, "")
	out := b.String()
	for _, want := range []string{
		"load: 500 requests/s over 50 connections, 2 drains\n",
		"  drain 1 of node worker-2: 41.23s; evictions 2, refused (429) and asked again 3\n",
		"  drain 2 of node worker-1: 20s; evictions 1, refused (429) and asked again 0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text result lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "rollout") {
		t.Errorf("text result of drains speaks of rollouts:\n%s", out)
	}
	r.Disruption = &rehearse.Disruption{Kind: "evict", Rounds: []rehearse.DisruptionRound{{DurationNs: time.Second, Evictions: 3}}}
	b.Reset()
	writeRehearsal(&b, r, "")
	if out := b.String(); !strings.Contains(out, "1 eviction passes\n  eviction pass 1: 1s; evictions 3, refused (429) and asked again 0\n") {
		t.Errorf("text result of evictions:\n%s", out)
	}
}
