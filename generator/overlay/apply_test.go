package overlay

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

func applied(t *testing.T, dir string) *Applied {
	t.Helper()
	o, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Apply(o, "", "../platform/overlay")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// layered is zdgen's render of p with templates of version and the
// overlay a layered on, as a service is composed (package generator
// adds the lock).
func layered(version string, p *spec.Plan, a *Applied) ([]spec.File, error) {
	files, err := render.RenderVersion(version, withRecord(p, a))
	if err != nil {
		return nil, err
	}
	return a.Layer(context.Background(), version, p, files)
}

// withRecord is p with a's record, as the templates read it.
func withRecord(p *spec.Plan, a *Applied) *spec.Plan {
	rec := a.Record
	p.Overlay = &rec
	return p
}

// The acme overlay on a service: zdgen's files, the overlay's added, its
// components listed by the kustomization, sorted by path.
func TestLayer(t *testing.T) {
	a := applied(t, acmeDir)
	p := withRecord(plan(t, a.Defaults()), a)
	plain, err := render.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	given := slices.Clone(plain)
	for i := range given {
		given[i].Content = bytes.Clone(plain[i].Content)
	}
	files, err := a.Layer(context.Background(), render.Version, p, plain)
	if err != nil {
		t.Fatal(err)
	}
	got, want := byPath(files), byPath(plain)
	for path, f := range want {
		switch path {
		case KustomizationPath, "README.md":
			continue
		}
		if !bytes.Equal(got[path].Content, f.Content) {
			t.Errorf("%s differs from zdgen's own render", path)
		}
	}
	for _, path := range []string{".github/CODEOWNERS", "catalog-info.yaml", "deploy/k8s/overlay/log-shipper/sidecar.yaml"} {
		if _, ok := got[path]; !ok {
			t.Errorf("no %s", path)
		}
	}
	if _, ok := got[spec.LockPath]; ok {
		t.Error("Layer wrote a lock: the service's lock is built once it is composed")
	}
	k := string(got[KustomizationPath].Content)
	if !strings.HasPrefix(k, string(want[KustomizationPath].Content)) || !strings.HasSuffix(k, "components:\n  - overlay/log-shipper\n  - overlay/org-labels\n") {
		t.Errorf("kustomization:\n%s", k)
	}
	if !strings.Contains(k, "acme@v1.4.0") {
		t.Errorf("the kustomization does not name the overlay:\n%s", k)
	}
	for i := 1; i < len(files); i++ {
		if files[i-1].Path >= files[i].Path {
			t.Errorf("not sorted by path: %s before %s", files[i-1].Path, files[i].Path)
		}
	}
	for i := range given {
		if given[i].Path != plain[i].Path || !bytes.Equal(given[i].Content, plain[i].Content) {
			t.Errorf("Layer changed the files it was given: %s", plain[i].Path)
		}
	}
}

// An overlay replaces zdgen's own files, which stay zdgen's to upgrade;
// the owner's files it may not replace.
func TestRenderServiceReplaces(t *testing.T) {
	a := applied(t, newTree(t, with(map[string]string{"templates/Dockerfile.tmpl": "FROM [[.Answers.BaseImage]]\n"})))
	p := plan(t, a.Defaults())
	files, err := layered(render.Version, p, a)
	if err != nil {
		t.Fatal(err)
	}
	got := byPath(files)
	if d := string(got["Dockerfile"].Content); d != "FROM registry.acme.example/base/static:2026.11\n" {
		t.Errorf("Dockerfile: %q", d)
	}
	if o := got["Dockerfile"].Owner; o != spec.OwnerZdgen {
		t.Errorf("the overlay's Dockerfile is owned by %q, want zdgen (upgrades update it)", o)
	}

	for _, c := range []struct{ file, want string }{
		{"templates/internal/server/handlers.go.tmpl", "replaces internal/server/handlers.go, which zdgen hands to the service's owner"},
		{"templates/deploy/k8s/kustomization.yaml.tmpl", "already lists components"},
	} {
		content := "package server\n"
		if strings.HasSuffix(c.file, ".yaml.tmpl") {
			content = "resources: [deployment.yaml]\ncomponents: [overlay/labels]\n"
		}
		a := applied(t, newTree(t, with(map[string]string{c.file: content})))
		_, err := layered(render.Version, plan(t, a.Defaults()), a)
		if err == nil || !spec.IsInputError(err) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "acme@v1.0.0") {
			t.Errorf("%s: %v, want an InputError saying %q", c.file, err, c.want)
		}
	}
}

// An overlay file whose path is a directory zdgen generates, or lies
// inside a file zdgen generates (or one of the overlay's own), could not
// be written: it is a broken overlay, refused when rendering (so by
// overlay check, new and upgrade alike), naming the overlay's file.
func TestRenderServiceCollisions(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"a file where zdgen has a directory", map[string]string{"templates/internal.tmpl": "x\n"}, []string{"templates/internal.tmpl", "renders to internal", "a directory"}},
		{"a file inside a file of zdgen's", map[string]string{"templates/Dockerfile/x.tmpl": "x\n"}, []string{"templates/Dockerfile/x.tmpl", "Dockerfile"}},
		{"a file inside the lock", map[string]string{"templates/.zdgen.yaml/x.tmpl": "x\n"}, []string{"templates/.zdgen.yaml/x.tmpl", ".zdgen.yaml"}},
		{"a file where the service's name makes a directory", map[string]string{"templates/cmd/_name_.tmpl": "x\n"}, []string{"templates/cmd/_name_.tmpl", "cmd/orders"}},
		{"a file where the components go", map[string]string{"templates/deploy/k8s.tmpl": "x\n"}, []string{"templates/deploy/k8s.tmpl", "deploy/k8s"}},
		{"two of its own", map[string]string{"templates/docs.tmpl": "x\n", "templates/docs/a.md.tmpl": "x\n"}, []string{"templates/docs.tmpl", "templates/docs/a.md.tmpl"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := applied(t, newTree(t, with(c.files)))
			_, err := layered(render.Version, plan(t, a.Defaults()), a)
			if err == nil || !spec.IsInputError(err) {
				t.Fatalf("got %v, want a broken-overlay InputError", err)
			}
			for _, w := range append(c.want, "acme@v1.0.0") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nwant it to say %q", err, w)
				}
			}
		})
	}
	// A template that renders to nothing is no file, and collides with
	// nothing.
	a := applied(t, newTree(t, with(map[string]string{"templates/internal.tmpl": "[[ if false ]]x[[ end ]]\n"})))
	if _, err := layered(render.Version, plan(t, a.Defaults()), a); err != nil {
		t.Errorf("an empty render collided: %v", err)
	}
}

// A fetched module must be the release it was fetched as.
func TestApplyModuleMismatch(t *testing.T) {
	o, err := Load(acmeDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(o, "example.com/other/overlay", ""); err == nil || !strings.Contains(err.Error(), "fetched as example.com/other/overlay") {
		t.Errorf("got %v", err)
	}
}

// A service generated from a local overlay directory that is not a
// module: the CI workflow's checkout holds the service alone, so its
// `zdgen upgrade --check` job cannot read the overlay. The generated README
// says so and how to publish the overlay as a module. A module overlay,
// or a service without the workflow, gets no such note.
func TestReadmeSaysCINeedsTheOverlayPublished(t *testing.T) {
	const note = "publish the overlay as a Go module"
	readme := func(a *Applied, given map[string]string) string {
		t.Helper()
		files, err := layered(render.Version, plan(t, given), a)
		if err != nil {
			t.Fatal(err)
		}
		return string(byPath(files)["README.md"].Content)
	}
	local := applied(t, newTree(t, minimal))
	if local.Record.Module != "" || local.Record.Dir == "" {
		t.Fatalf("minimal overlay recorded as %+v, want a directory without a module", local.Record)
	}
	r := readme(local, nil)
	for _, want := range []string{note, "`zdgen upgrade --check`", "../platform/overlay", "go.mod", "v1.0.0", "zdgen upgrade --overlay"} {
		if !strings.Contains(r, want) {
			t.Errorf("local overlay with the CI workflow: the README lacks %q:\n%s", want, section(r, "## Organisation overlay"))
		}
	}
	if r := readme(local, map[string]string{"ci": "none"}); strings.Contains(r, note) {
		t.Errorf("without a CI workflow the README still says: %s", section(r, "## Organisation overlay"))
	}
	if r := readme(applied(t, acmeDir), nil); strings.Contains(r, note) {
		t.Errorf("a module overlay's README says: %s", section(r, "## Organisation overlay"))
	}
}

// section returns the part of a Markdown document from heading to the
// next heading of the same level.
func section(doc, heading string) string {
	_, s, ok := strings.Cut(doc, heading+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(s, "\n## "); i >= 0 {
		s = s[:i]
	}
	return heading + "\n" + s
}
