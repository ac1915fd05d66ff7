package generator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/repotest"
)

const acmeDir = "../examples/overlay/acme"

// acme opens the example overlay in dir as a repository's lock would
// record it from ../platform/overlay.
func acme(t *testing.T, dir string) *overlay.Applied {
	t.Helper()
	o, err := overlay.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := overlay.Apply(o, "", "../platform/overlay")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// named is the overlay's defaults for a service called name.
func named(ov *overlay.Applied, name string) map[string]string {
	given := overlay.WithName(ov.Defaults(), name)
	given["name"] = name
	return given
}

// A service composed with an overlay: its defaults' answers planned with
// the overlay's record, the lock built once at the end, recording the
// overlay and every file of the service (the overlay's and zdgen's) with
// its checksum.
func TestComposeRecordsEveryFileAndTheOverlay(t *testing.T) {
	ov := acme(t, acmeDir)
	a := repotest.Answers(t, named(ov, "orders"))
	p, files, err := generator.Compose(context.Background(), generator.Service{Answers: a, Overlay: ov})
	if err != nil {
		t.Fatal(err)
	}
	if p.Overlay == nil || strings.Join(p.Overlay.Components, ",") != "overlay/log-shipper,overlay/org-labels" {
		t.Errorf("plan overlay: %+v", p.Overlay)
	}
	l := repotest.Lock(t, files)
	sum, _ := ov.Sum()
	if o := l.Overlay; o == nil || o.Name != "acme" || o.Version != "v1.4.0" || o.Dir != "../platform/overlay" || o.Module != "example.com/acme/zdgen-overlay" || o.Sum != sum {
		t.Errorf("lock overlay: %+v (sum %s)", l.Overlay, sum)
	}
	if l.Version != render.Version {
		t.Errorf("lock version %s, want %s", l.Version, render.Version)
	}
	recorded := map[string]string{}
	for _, lf := range l.Files {
		recorded[lf.Path] = lf.SHA256
	}
	locks := 0
	for i, f := range files {
		if i > 0 && files[i-1].Path >= f.Path {
			t.Errorf("not sorted by path: %s before %s", files[i-1].Path, f.Path)
		}
		if f.Path == spec.LockPath {
			locks++
			continue
		}
		if recorded[f.Path] != f.Sum() {
			t.Errorf("lock records %s as %q, composed %q", f.Path, recorded[f.Path], f.Sum())
		}
	}
	if locks != 1 || len(recorded) != len(files)-1 {
		t.Errorf("%d locks; the lock records %d files of %d composed", locks, len(recorded), len(files)-1)
	}
	if _, ok := repotest.Map(files)["catalog-info.yaml"]; !ok {
		t.Error("the overlay's catalog-info.yaml is not in the service")
	}
}

// An owner's choice of owner: user, recorded in the old lock, sticks in
// the new one; every other file keeps its template's owner.
func TestComposeKeepsTheOwnersChoice(t *testing.T) {
	a := spec.Defaults("shop")
	files := repotest.Compose(t, generator.Service{Answers: a, Owners: map[string]string{"Dockerfile": spec.OwnerUser, "README.md": spec.OwnerZdgen}})
	for _, lf := range repotest.Lock(t, files).Files {
		want := spec.OwnerZdgen
		if lf.Path == "Dockerfile" || lf.Path == "internal/server/handlers.go" {
			want = spec.OwnerUser
		}
		if lf.Owner != want {
			t.Errorf("%s: owner %q, want %q", lf.Path, lf.Owner, want)
		}
	}
}

// An overlay whose component shortens the grace period breaks the timing
// model: Compose refuses it as bad input, naming the overlay and the
// component, before anything could be written.
func TestComposeRefusesAnOverlayThatBreaksTheTimingModel(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(acmeDir)); err != nil {
		t.Fatal(err)
	}
	comp := filepath.Join(dir, "kustomize", "fast-exit")
	if err := os.MkdirAll(comp, 0o755); err != nil {
		t.Fatal(err)
	}
	patch := "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/terminationGracePeriodSeconds\n        value: 5\n"
	if err := os.WriteFile(filepath.Join(comp, "kustomization.yaml"), []byte(patch), 0o644); err != nil {
		t.Fatal(err)
	}
	ov := acme(t, dir)
	a := repotest.Answers(t, named(ov, "orders"))
	_, _, err := generator.Compose(context.Background(), generator.Service{Answers: a, Overlay: ov})
	for _, want := range []string{"with overlay acme@v1.4.0, its component kustomize/fast-exit", "terminationGracePeriodSeconds 5s is too short"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error saying %q", err, want)
		}
	}
	if !spec.IsInputError(err) {
		t.Errorf("%v is not bad input", err)
	}
	// Without the component, the same answers pass.
	if err := os.RemoveAll(comp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := generator.Compose(context.Background(), generator.Service{Answers: a, Overlay: acme(t, dir)}); err != nil {
		t.Errorf("without the component: %v", err)
	}
}
