package generator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/write"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// apiServer runs kubectl against the API server test/apiserver/run.sh
// starts; the test is skipped without one.
type apiServer struct {
	kubectl, kubeconfig, cacheDir string
}

func needAPIServer(t *testing.T) apiServer {
	t.Helper()
	kubeconfig := os.Getenv("ZDGEN_KUBECONFIG")
	if kubeconfig == "" {
		t.Skip("no API server: test/apiserver/run.sh starts one and sets ZDGEN_KUBECONFIG")
	}
	kubectl := os.Getenv("ZDGEN_KUBECTL")
	if kubectl == "" {
		kubectl = "kubectl"
	}
	return apiServer{kubectl: kubectl, kubeconfig: kubeconfig, cacheDir: t.TempDir()}
}

// dryRun is `kubectl apply --dry-run=server --validate=strict`: the server
// decodes, defaults, validates and admits the objects as for a real apply,
// rejecting unknown and duplicate fields, and stores nothing.
func (s apiServer) dryRun(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.kubectl, append([]string{
		"--kubeconfig", s.kubeconfig, "--cache-dir", s.cacheDir, "--request-timeout", "30s",
		"apply", "--dry-run=server", "--validate=strict"}, args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// resources maps the kinds zdgen writes to the names kubectl prints.
var resources = map[string]string{
	"Deployment":          "deployment.apps",
	"Service":             "service",
	"NetworkPolicy":       "networkpolicy.networking.k8s.io",
	"PodDisruptionBudget": "poddisruptionbudget.policy",
	"Ingress":             "ingress.networking.k8s.io",
	// The Prometheus Operator's: run.sh installs its CRD.
	"ServiceMonitor":          "servicemonitor.monitoring.coreos.com",
	"HorizontalPodAutoscaler": "horizontalpodautoscaler.autoscaling",
}

// acceptsTree applies dir/deploy/k8s through its kustomization and checks
// that the server accepted each manifest of the folder, and nothing else.
// what names the tree in failures.
func (s apiServer) acceptsTree(t *testing.T, what, dir string) {
	t.Helper()
	k8s := filepath.Join(dir, "deploy", "k8s")
	manifests, _ := filepath.Glob(filepath.Join(k8s, "*.yaml"))
	var want, unserved []string
	for _, m := range manifests {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			metav1.TypeMeta   `json:",inline"`
			metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(b, &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Kind == "Kustomization" {
			continue
		}
		if gatewayAPIKinds[obj.Kind] {
			unserved = append(unserved, filepath.Base(m))
			continue
		}
		want = append(want, fmt.Sprintf("%s/%s created (server dry run)", resources[obj.Kind], obj.Name))
	}
	if len(unserved) > 0 {
		k8s = withoutResources(t, k8s, unserved)
	}
	out, err := s.dryRun("-k", k8s)
	if err != nil {
		t.Errorf("%s: rejected: %v\n%s", what, err, out)
		return
	}
	got := strings.Split(out, "\n")
	if len(got) != len(want) {
		t.Errorf("%s: %d objects accepted, want %d:\n%s", what, len(got), len(want), out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: no %q in:\n%s", what, w, out)
		}
	}
}

// gatewayAPIKinds are the Gateway API routes (expose gateway). Their CRDs
// are not in the API server run.sh starts: test/schema decodes them
// strictly with the Gateway API's own Go types instead.
var gatewayAPIKinds = map[string]bool{"HTTPRoute": true, "GRPCRoute": true}

// withoutResources copies the kustomization folder k8s with the files
// named left out of it and of its resources, and returns the copy.
func withoutResources(t *testing.T, k8s string, leave []string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(k8s)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if slices.Contains(leave, e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(k8s, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "kustomization.yaml" {
			var kust map[string]any
			if err := yaml.Unmarshal(b, &kust); err != nil {
				t.Fatal(err)
			}
			var kept []any
			for _, r := range kust["resources"].([]any) {
				if !slices.Contains(leave, r.(string)) {
					kept = append(kept, r)
				}
			}
			kust["resources"] = kept
			if b, err = yaml.Marshal(kust); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Every generated tree of the wide matrix, and the committed examples, are
// accepted by a real kube-apiserver with strict validation; a
// ServiceMonitor (service-monitor) is validated against the Prometheus
// Operator's own CRD, which run.sh installs; an Ingress (expose ingress)
// by the server's own networking/v1 rules, and a Gateway API route is left
// out (see gatewayAPIKinds). The server is
// the one test/apiserver/run.sh builds (1.34): it serves every field of
// every target version's manifests, newer targets included, because the
// forms zdgen chooses by version (native sleep preStop, native gRPC
// probes) are all older than 1.34. Older targets are held to 1.34's rules,
// which would also accept a field an older server does not serve.
func TestAPIServerAcceptsEveryTree(t *testing.T) {
	s := needAPIServer(t)
	t.Run("matrix", func(t *testing.T) {
		for _, kv := range wideMatrix() {
			_, dir := writeSet(t, kv...)
			s.acceptsTree(t, fmt.Sprint(kv), dir)
		}
	})
	t.Run("examples", func(t *testing.T) {
		trees, _ := filepath.Glob("../examples/*/deploy/k8s")
		overlaid, _ := filepath.Glob("../examples/overlay/*/deploy/k8s")
		if len(trees) < 2 || len(overlaid) < 1 {
			t.Fatalf("found %d example trees and %d with the overlay, want at least 2 and 1", len(trees), len(overlaid))
		}
		trees = append(trees, overlaid...)
		for _, k8s := range trees {
			s.acceptsTree(t, k8s, filepath.Dir(filepath.Dir(k8s)))
		}
	})
}

// The example overlay's components (labels and annotations on every
// object, a native sidecar and a pull secret patched into the
// Deployment), as kubectl's kustomize applies them, are accepted on a
// gRPC service with an autoscaler, whose objects the example does not
// have.
func TestAPIServerAcceptsAnOverlaidTree(t *testing.T) {
	s := needAPIServer(t)
	ov, err := overlay.Load("../examples/overlay/acme")
	if err != nil {
		t.Fatal(err)
	}
	applied, err := overlay.Apply(ov, "", "../acme")
	if err != nil {
		t.Fatal(err)
	}
	given := overlay.WithName(ov.Defaults(), "ledger")
	maps.Copy(given, map[string]string{"name": "ledger", "protocol": "grpc", "autoscale": "2-6", "service-monitor": "true"})
	a, err := spec.Resolve(given)
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := Compose(context.Background(), Service{Answers: a, Overlay: applied})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), a.Name)
	if err := write.Write(context.Background(), dir, files, false); err != nil {
		t.Fatal(err)
	}
	s.acceptsTree(t, "grpc with the acme overlay", dir)
}

// dig walks a decoded manifest by map keys and list indices to the map at
// the end of the path, creating maps on the way.
func dig(t *testing.T, obj map[string]any, path ...any) map[string]any {
	t.Helper()
	var cur any = obj
	for _, step := range path {
		switch k := step.(type) {
		case string:
			m := cur.(map[string]any)
			if m[k] == nil {
				m[k] = map[string]any{}
			}
			cur = m[k]
		case int:
			cur = cur.([]any)[k]
		}
	}
	return cur.(map[string]any)
}

var container0 = []any{"spec", "template", "spec", "containers", 0}

// Manifests that break what only the API server knows are rejected by it,
// with its own message. Each starts from a generated manifest with one
// thing broken, so that the break is the only difference from a manifest
// TestAPIServerAcceptsEveryTree shows accepted; this is also what shows that
// check can fail. The last two cases are accepted: the server checks
// neither that a HorizontalPodAutoscaler's target exists nor that a
// PodDisruptionBudget selects any pod, which is why
// TestSelectorsSelectThePods does.
func TestAPIServerRejectsBrokenManifests(t *testing.T) {
	s := needAPIServer(t)
	cases := []struct {
		name   string
		kv     []string // the answers generated from
		file   string   // in deploy/k8s
		breaks func(t *testing.T, obj map[string]any)
		want   string // a fragment of the server's message; empty: accepted
	}{{
		name: "preStop sleep longer than the grace period",
		file: "deployment.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, append(container0, "lifecycle", "preStop", "sleep")...)["seconds"] = 23 // grace period 22
		},
		want: "spec.template.spec.containers[0].lifecycle.preStop.sleep: Invalid value: 23: must be non-negative and less than terminationGracePeriodSeconds (22)",
	}, {
		name: "maxSurge and maxUnavailable both 0",
		file: "deployment.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec", "strategy", "rollingUpdate")["maxSurge"] = 0
		},
		want: "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
	}, {
		name: "gRPC probe port out of range",
		kv:   []string{"protocol=grpc"},
		file: "deployment.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, append(container0, "readinessProbe", "grpc")...)["port"] = 70000
		},
		want: "spec.template.spec.containers[0].readinessProbe.grpc.port: Invalid value: 70000: must be between 1 and 65535, inclusive",
	}, {
		name: "PodDisruptionBudget with minAvailable and maxUnavailable",
		file: "pdb.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec")["minAvailable"] = 1
		},
		want: "minAvailable and maxUnavailable cannot be both set",
	}, {
		name: "Deployment selector not matching its pods",
		file: "deployment.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec", "selector", "matchLabels")["app.kubernetes.io/name"] = "other"
		},
		want: "`selector` does not match template `labels`",
	}, {
		// Kubernetes 1.36 added it (GenericWorkload). Strict validation
		// rejects it on a server that does not serve it; with
		// --validate=ignore the server would drop it without a word.
		name: "a field the server does not serve: schedulingGroup",
		file: "deployment.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec", "template", "spec", "schedulingGroup")["podGroupName"] = "svc"
		},
		want: `strict decoding error: unknown field "spec.template.spec.schedulingGroup"`,
	}, {
		// The CRD's schema, not only its kind, is in force.
		name: "ServiceMonitor interval the operator's schema refuses",
		kv:   []string{"service-monitor=true"},
		file: "servicemonitor.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec", "endpoints", 0)["interval"] = "15 seconds"
		},
		want: `spec.endpoints[0].interval: Invalid value: "15 seconds"`,
	}, {
		name: "ServiceMonitor field the operator's schema lacks",
		kv:   []string{"service-monitor=true"},
		file: "servicemonitor.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec", "endpoints", 0)["scrapeEvery"] = "15s"
		},
		want: `unknown field "spec.endpoints[0].scrapeEvery"`,
	}, {
		// A scale-down period as long as a long grace period would be:
		// the plan caps it at the API's limit.
		name: "HorizontalPodAutoscaler scale-down period beyond 1800 s",
		kv:   []string{"autoscale=2-6"},
		file: "hpa.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec", "behavior", "scaleDown", "policies", 0)["periodSeconds"] = 1801
		},
		want: "periodSeconds: Invalid value: 1801: must be less than or equal to 1800",
	}, {
		name: "accepted: HorizontalPodAutoscaler scaling a Deployment that is not there",
		kv:   []string{"autoscale=2-6"},
		file: "hpa.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec", "scaleTargetRef")["name"] = "other"
		},
	}, {
		name: "accepted: PodDisruptionBudget selecting no pod",
		file: "pdb.yaml",
		breaks: func(t *testing.T, obj map[string]any) {
			dig(t, obj, "spec", "selector", "matchLabels")["app.kubernetes.io/name"] = "other"
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, files := renderSet(t, c.kv...)
			var obj map[string]any
			if err := yaml.Unmarshal(files["deploy/k8s/"+c.file], &obj); err != nil {
				t.Fatal(err)
			}
			c.breaks(t, obj)
			b, err := yaml.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), c.file)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := s.dryRun("-f", path)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("rejected: %v\n%s", err, out)
			case c.want != "" && err == nil:
				t.Errorf("accepted:\n%s\n%s", out, b)
			case !strings.Contains(out, c.want):
				t.Errorf("the server's answer lacks %q:\n%s", c.want, out)
			default:
				t.Logf("%s", out)
			}
		})
	}
}

// A tree with a Gateway API route is applied without it, and with every
// other object its kustomization lists (this runs without an API server).
func TestWithoutResourcesLeavesTheRouteOut(t *testing.T) {
	_, dir := writeSet(t, "expose=gateway")
	k8s := withoutResources(t, filepath.Join(dir, "deploy", "k8s"), []string{"route.yaml"})
	if _, err := os.Stat(filepath.Join(k8s, "route.yaml")); !os.IsNotExist(err) {
		t.Errorf("route.yaml copied: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(k8s, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kust struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &kust); err != nil {
		t.Fatal(err)
	}
	if want := []string{"deployment.yaml", "service.yaml", "networkpolicy.yaml", "pdb.yaml"}; !slices.Equal(kust.Resources, want) {
		t.Errorf("resources %v, want %v", kust.Resources, want)
	}
	for _, r := range kust.Resources {
		if _, err := os.Stat(filepath.Join(k8s, r)); err != nil {
			t.Errorf("%s listed but not copied: %v", r, err)
		}
	}
}

// The reason the Deployment leaves replicas out with autoscale: the
// autoscaler changes the count through the scale subresource, as its own
// field manager, and applying the same manifests again (server-side, as
// kubectl does, forcing conflicts as a deploy pipeline does) must not
// set it back. The contrast, the same steps with the replicas a
// Deployment without autoscale carries, shows the reset the test would
// catch. The API server alone suffices: no controller acts on the
// objects, so the count changes only when the test or an apply changes it.
func TestAPIServerApplyKeepsTheAutoscalersScale(t *testing.T) {
	s := needAPIServer(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kv   []string
		want func(applied int32) int32 // the count after the second apply
	}{
		{[]string{"autoscale=2-6"}, func(int32) int32 { return scaledTo }},
		{[]string{"replicas=3"}, func(applied int32) int32 { return applied }},
	} {
		t.Run(strings.Join(c.kv, ","), func(t *testing.T) {
			p, dir := writeSet(t, c.kv...)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ns := testNamespace(t)
			if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			defer client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
			deployments := client.AppsV1().Deployments(ns)
			name := p.Answers.Name

			if out, err := s.serverSideApply(ns, dir); err != nil {
				t.Fatalf("first apply: %v\n%s", err, out)
			}
			scale, err := deployments.GetScale(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			applied := scale.Spec.Replicas // 1, Kubernetes' default, without replicas
			// The autoscaler's move: another manager, the scale subresource.
			scale.Spec.Replicas = scaledTo
			if _, err := deployments.UpdateScale(ctx, name, scale, metav1.UpdateOptions{FieldManager: autoscalerManager}); err != nil {
				t.Fatal(err)
			}
			if scale, err = deployments.GetScale(ctx, name, metav1.GetOptions{}); err != nil || scale.Spec.Replicas != scaledTo {
				t.Fatalf("after scaling to %d: %v, %v", scaledTo, scale, err)
			}
			if out, err := s.serverSideApply(ns, dir); err != nil {
				t.Fatalf("second apply: %v\n%s", err, out)
			}
			d, err := deployments.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := *d.Spec.Replicas, c.want(applied); got != want {
				t.Errorf("after the autoscaler set %d and the manifests were applied again: replicas %d, want %d", scaledTo, got, want)
			}
			for _, f := range d.ManagedFields {
				t.Logf("%s %s %s", f.Manager, f.Operation, f.Subresource)
			}
		})
	}
}

const (
	scaledTo          = 5
	autoscalerManager = "kube-controller-manager" // the manager the HorizontalPodAutoscaler controller writes as
)

// serverSideApply is `kubectl apply --server-side` of the tree's
// kustomization into namespace ns, for real: the objects are stored.
func (s apiServer) serverSideApply(ns, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.kubectl,
		"--kubeconfig", s.kubeconfig, "--cache-dir", s.cacheDir, "--request-timeout", "30s",
		"apply", "--server-side", "--field-manager=kubectl", "--force-conflicts", "--validate=strict",
		"--namespace", ns, "-k", filepath.Join(dir, "deploy", "k8s"))
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// testNamespace is a fresh namespace name, so that reruns against the
// same server do not meet each other's objects.
func testNamespace(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "zdgen-apply-" + hex.EncodeToString(b)
}
