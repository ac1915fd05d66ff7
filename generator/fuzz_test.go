package generator

import (
	"bytes"
	"go/format"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// Every answer set validation accepts renders to manifests that decode
// strictly into k8s.io/api types and Go that parses; free text cannot
// break out of the line and the language it lands in.
func FuzzRender(f *testing.F) {
	f.Add("greeter", `Greets: "hi" #1 {{x}} [[.Name]] $HOME`, uint8(3), "distroless", "5s", false)
	f.Add("a", "line one\nline two\t- item: x", uint8(1), "scratch", "0s", true)
	// A capitalised line without end punctuation, which gofmt would read
	// as a heading in the doc comment.
	f.Add("payments", "Takes payments for Acme's shop", uint8(3), "scratch", "5s", false)
	f.Add("orders-api", "'; rm -rf / #`<script>` */ //go:build ignore", uint8(100), "alpine:3.20", "300s", true)
	f.Fuzz(func(t *testing.T, name, description string, replicas uint8, image, lag string, grpc bool) {
		a := spec.Defaults("svc")
		protocol := spec.ProtocolHTTP
		if grpc {
			protocol = spec.ProtocolGRPC
		}
		for key, v := range map[string]string{"name": name, "description": description, "base-image": image, "propagation-lag": lag, "protocol": protocol} {
			fd, _ := spec.FieldByKey(key)
			if fd.Set(&a, v) != nil {
				return
			}
		}
		a.Module = spec.DefaultModule(a.Name)
		a.Replicas = int(replicas)
		if spec.Check(a) != nil {
			return
		}
		_, files, err := Generate(a)
		if err != nil {
			t.Fatalf("accepted answers %+v do not render: %v", a, err)
		}
		byPath := map[string][]byte{}
		for _, f := range files {
			byPath[f.Path] = f.Content
		}
		var d appsv1.Deployment
		if err := yaml.UnmarshalStrict(byPath["deploy/k8s/deployment.yaml"], &d); err != nil {
			t.Fatalf("deployment: %v", err)
		}
		if d.Annotations["description"] != a.Description {
			t.Fatalf("the description annotation is %q, want %q", d.Annotations["description"], a.Description)
		}
		for path, into := range map[string]any{"deploy/k8s/service.yaml": &corev1.Service{}, "deploy/k8s/networkpolicy.yaml": &networkingv1.NetworkPolicy{}, "deploy/k8s/pdb.yaml": &policyv1.PodDisruptionBudget{}} {
			if b, ok := byPath[path]; ok {
				if err := yaml.UnmarshalStrict(b, into); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
			}
		}
		for path, b := range byPath {
			if strings.HasSuffix(path, ".go") {
				// Render does not run gofmt: the templates must come out
				// gofmt-clean for every accepted answer set.
				if formatted, err := format.Source(b); err != nil || !bytes.Equal(formatted, b) {
					t.Fatalf("%s is not gofmt-clean (%v)", path, err)
				}
			}
		}
		// One line each, wherever the text lands: nothing leaks onto a line
		// of its own, where it would be read as code or instructions.
		main := byPath["cmd/"+a.Name+"/main.go"]
		if a.Description != "" && !regexp.MustCompile(`\n// `+regexp.QuoteMeta(a.Description)+`[.]?\n`).Match(main) {
			t.Fatalf("main.go's doc comment lacks the description on one line")
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), "main.go", main, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil || parsed.Name.Name != "main" {
			t.Fatalf("main.go's package clause: %v", err)
		}
		labels := 0
		for _, line := range strings.Split(string(byPath["Dockerfile"]), "\n") {
			if strings.HasPrefix(line, "LABEL ") {
				labels++
			}
		}
		if want := 1 + btoi(a.Description != ""); labels != want {
			t.Fatalf("Dockerfile has %d LABEL lines, want %d", labels, want)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
