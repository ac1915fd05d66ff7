package overlay

import (
	"bytes"
	"context"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// plan builds the plan of answers given (with name and module filled in).
func plan(t *testing.T, given map[string]string) *spec.Plan {
	t.Helper()
	m := map[string]string{"name": "orders", "module": "github.com/acme/orders"}
	maps.Copy(m, given)
	a, err := spec.Resolve(m)
	if err != nil {
		t.Fatal(err)
	}
	p, err := spec.NewPlan(a)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func byPath(files []spec.File) map[string]spec.File {
	m := map[string]spec.File{}
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

// The acme overlay renders its templates with zdgen's plan data, sprig's
// and zdgen's functions, and carries its kustomize components unchanged.
func TestRenderAcme(t *testing.T) {
	o, err := Load(acmeDir)
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, o.Defaults())
	files, err := o.Render(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	got := byPath(files)
	wantPaths := []string{
		".github/CODEOWNERS",
		"catalog-info.yaml",
		"deploy/k8s/overlay/log-shipper/kustomization.yaml",
		"deploy/k8s/overlay/log-shipper/sidecar.yaml",
		"deploy/k8s/overlay/org-labels/kustomization.yaml",
	}
	if paths := slices.Collect(maps.Keys(got)); !slices.Equal(slices.Sorted(slices.Values(paths)), wantPaths) {
		t.Fatalf("paths %v, want %v", slices.Sorted(slices.Values(paths)), wantPaths)
	}
	if !slices.IsSortedFunc(files, func(a, b spec.File) int { return strings.Compare(a.Path, b.Path) }) {
		t.Error("files not sorted by path")
	}
	owners := string(got[".github/CODEOWNERS"].Content)
	if !strings.Contains(owners, "*            @acme/orders-owners\n") || !strings.Contains(owners, "/deploy/     @acme/platform @acme/orders-owners\n") {
		t.Errorf("CODEOWNERS:\n%s", owners)
	}
	catalog := string(got["catalog-info.yaml"].Content)
	for _, want := range []string{
		"  name: orders\n",
		`  title: "Orders"` + "\n", // sprig: replace, title, quote
		`    acme.example/zdgen-templates: "` + render.Version + `"` + "\n", // zdgen's .Version
		`  tags: ["go", "http", "zdgen"]` + "\n",                            // sprig list, sortAlpha; zdgen's yamlList
	} {
		if !strings.Contains(catalog, want) {
			t.Errorf("catalog-info.yaml lacks %q:\n%s", want, catalog)
		}
	}
	raw, err := fs.ReadFile(os.DirFS(acmeDir), "kustomize/log-shipper/sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f := got["deploy/k8s/overlay/log-shipper/sidecar.yaml"]; !bytes.Equal(f.Content, raw) || f.Owner != spec.OwnerZdgen || f.Mode != 0o644 {
		t.Errorf("sidecar patch not carried unchanged: %+v", f)
	}
	if got := o.Components(); !slices.Equal(got, []string{"overlay/log-shipper", "overlay/org-labels"}) {
		t.Errorf("components %v", got)
	}

	// Rendering is deterministic: twice, and from a second load, the same
	// bytes.
	again, err := o.Render(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	o2, err := Load(acmeDir)
	if err != nil {
		t.Fatal(err)
	}
	third, err := o2.Render(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if !bytes.Equal(files[i].Content, again[i].Content) || !bytes.Equal(files[i].Content, third[i].Content) {
			t.Errorf("%s renders differently", files[i].Path)
		}
	}
}

// The data is that of the templates version asked for: an upgrade's merge
// base renders the overlay as the older zdgen did.
func TestRenderVersion(t *testing.T) {
	o, err := Load(acmeDir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := o.RenderVersion(context.Background(), "0.5.0", plan(t, o.Defaults()))
	if err != nil {
		t.Fatal(err)
	}
	if c := string(byPath(files)["catalog-info.yaml"].Content); !strings.Contains(c, `acme.example/zdgen-templates: "0.5.0"`) {
		t.Errorf("catalog-info.yaml:\n%s", c)
	}
	if _, err := o.RenderVersion(context.Background(), "0.0.1", plan(t, o.Defaults())); err == nil {
		t.Error("rendered with templates this zdgen does not carry")
	}
}

func TestRenderTemplates(t *testing.T) {
	files := with(map[string]string{
		"templates/cmd/_name_/extra.txt.tmpl":  "[[.Answers.Name]]\n",
		"templates/grpc-only.txt.tmpl":         `[[ if eq .Answers.Protocol "grpc" ]]grpc[[ end ]]` + "\n\n",
		"templates/scripts/check.sh.tmpl":      "#!/bin/sh\necho [[.Answers.Name | squote]]\n",
		"templates/internal/acme/acme.go.tmpl": "package acme\n\n// Service is the service's name.\nconst Service = [[.Answers.Name | quote]]\n",
	})
	o, err := Load(newTree(t, files))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		protocol string
		want     map[string]string
	}{
		{"http", map[string]string{
			"NOTICE":                "orders is an Acme service.\n",
			"cmd/orders/extra.txt":  "orders\n",
			"scripts/check.sh":      "#!/bin/sh\necho 'orders'\n",
			"internal/acme/acme.go": "package acme\n\n// Service is the service's name.\nconst Service = \"orders\"\n",
			"deploy/k8s/overlay/labels/kustomization.yaml":       minimal["kustomize/labels/kustomization.yaml"],
			"deploy/k8s/overlay/labels/notes/readme-not-yaml.md": minimal["kustomize/labels/notes/readme-not-yaml.md"],
		}},
		// A template that renders to white space only is a file this plan
		// does not need; otherwise it is written as rendered.
		{"grpc", map[string]string{"grpc-only.txt": "grpc\n\n"}},
	} {
		out, err := o.Render(context.Background(), plan(t, map[string]string{"protocol": c.protocol}))
		if err != nil {
			t.Fatal(err)
		}
		got := byPath(out)
		if _, ok := got["grpc-only.txt"]; ok != (c.protocol == "grpc") {
			t.Errorf("%s: grpc-only.txt rendered: %v", c.protocol, ok)
		}
		for p, want := range c.want {
			if f, ok := got[p]; !ok || string(f.Content) != want {
				t.Errorf("%s: %s = %q, want %q", c.protocol, p, f.Content, want)
			}
		}
		if m := got["scripts/check.sh"].Mode; c.protocol == "http" && m != 0o755 {
			t.Errorf("check.sh mode %v", m)
		}
	}
}

// A template that fails names the overlay and the file.
func TestRenderFails(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"missing map key", `[[ $m := dict "a" 1 ]][[ $m.b ]]`, `map has no entry for key "b"`},
		{"missing field", `[[ .Answers.Colour ]]`, "can't evaluate field Colour"},
		{"fail", `[[ fail "acme needs a team label" ]]`, "acme needs a team label"},
		{"Go that does not parse", "", "renders Go that does not parse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "templates/x.txt.tmpl"
			if c.src == "" {
				src, c.src = "templates/x.go.tmpl", "package [[.Answers.Name]]-x\n"
			}
			o, err := Load(newTree(t, with(map[string]string{src: c.src})))
			if err != nil {
				t.Fatal(err)
			}
			_, err = o.Render(context.Background(), plan(t, nil))
			if err == nil || !spec.IsInputError(err) {
				t.Fatalf("got %v, want an InputError", err)
			}
			for _, w := range []string{"acme@v1.0.0", src, c.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nwant it to say %q", err, w)
				}
			}
		})
	}
}

// Overlay templates get sprig's hermetic functions, less those that still
// read the clock, the random source or the environment, plus zdgen's own.
func TestFuncMapIsRepeatable(t *testing.T) {
	m := funcMap()
	for _, name := range []string{
		"now", "date", "dateInZone", "ago", "toDate", "unixEpoch", "dateModify",
		"randAlpha", "randAlphaNum", "randInt", "randBytes", "uuidv4", "shuffle",
		"env", "expandenv", "getHostByName",
		"genPrivateKey", "genCA", "genSelfSignedCert", "bcrypt", "htpasswd", "encryptAES",
	} {
		if _, ok := m[name]; ok {
			t.Errorf("%s is available; it does not repeat", name)
		}
	}
	for _, name := range []string{"upper", "quote", "replace", "sha256sum", "b64enc", "toJson", "dict", "list", "sortAlpha", "semverCompare", "trunc", "yamlString", "yamlList", "goComment", "markdown", "dockerString"} {
		if _, ok := m[name]; !ok {
			t.Errorf("%s is missing", name)
		}
	}
	for k := range render.FuncMap() {
		if _, ok := m[k]; !ok {
			t.Errorf("zdgen's %s is missing", k)
		}
	}
}

// A template using many sprig functions renders the same bytes every time.
func TestSprigRendersDeterministically(t *testing.T) {
	src := `[[ $d := dict "b" 2 "a" 1 "c" 3 ]][[ toJson $d ]] [[ keys $d | sortAlpha | join "," ]]
[[ .Answers.Name | sha256sum ]] [[ .Answers.Name | b64enc ]] [[ derivePassword 1 "long" "pw" "user" "example.com" ]]
[[ list 3 1 2 | toJson ]] [[ semverCompare ">=0.6.0" .Version ]] [[ .Answers.Name | trunc 3 | upper | repeat 2 ]]
`
	o, err := Load(newTree(t, with(map[string]string{"templates/sprig.txt.tmpl": src})))
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, nil)
	var first []byte
	for i := range 5 {
		files, err := o.Render(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		got := byPath(files)["sprig.txt"].Content
		if i == 0 {
			first = got
			if !strings.HasPrefix(string(got), `{"a":1,"b":2,"c":3} a,b,c`) || !strings.Contains(string(got), "[3,1,2] true ORDORD") {
				t.Errorf("rendered:\n%s", got)
			}
		} else if !bytes.Equal(got, first) {
			t.Fatalf("render %d differs:\n%s\nfirst:\n%s", i, got, first)
		}
	}
}
