package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/internal/repotest"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/modproxy"
)

const acmeModule = "example.com/acme/zdgen-overlay"

// realGo sets the go command's environment back to the user's after
// acmeProxy pointed it at the test's proxy; what it returns points it
// at the proxy again.
var realGo func() (back func())

// acmeRelease writes the acme overlay of the overlay package's tests as
// release version into a new directory, with zdgen the template versions
// it supports and edits (old -> new, per file) applied.
func acmeRelease(t *testing.T, version, zdgen string, edits map[string][2]string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "overlay", "acme")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	desc := filepath.Join(dir, "overlay.yaml")
	replaceIn(t, desc, "version: v1.4.0", "version: "+version)
	replaceIn(t, desc, `zdgen: ">=0.8.0 <0.9.0"`, "zdgen: "+zdgen)
	for file, e := range edits {
		p := filepath.Join(dir, filepath.FromSlash(file))
		if e[0] == "" {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(e[1]), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		replaceIn(t, p, e[0], e[1])
	}
	return dir
}

// acmeProxy publishes acme releases v1.0.0 (for templates 0.6.0 and
// 0.7.0) and v1.1.0 (0.7.0 and 0.8.0: a newer sidecar, one more CODEOWNERS
// line, a SECURITY.md) in a module proxy directory, and points the go
// command at it alone, with a module cache of its own.
func acmeProxy(t *testing.T) (v100, v110 string) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("fetching a module overlay needs the go command")
	}
	p := modproxy.Proxy{Dir: t.TempDir()}
	env := modproxy.Env(p, t.TempDir())
	orig := map[string]string{}
	for k, v := range env {
		orig[k] = os.Getenv(k)
		t.Setenv(k, v)
	}
	// Building a generated service needs its dependencies from the
	// user's own proxy and cache: set them back.
	realGo = func() func() {
		for k, v := range orig {
			t.Setenv(k, v)
		}
		return func() {
			for k, v := range env {
				t.Setenv(k, v)
			}
		}
	}
	v100 = acmeRelease(t, "v1.0.0", `">=0.6.0 <0.8.0"`, nil)
	v110 = acmeRelease(t, "v1.1.0", `">=0.7.0 <0.9.0"`, map[string][2]string{
		"kustomize/log-shipper/sidecar.yaml": {"log-shipper:1.8.2", "log-shipper:1.9.0"},
		"templates/.github/CODEOWNERS.tmpl":  {"/Dockerfile  @acme/platform", "/.github/    @acme/platform @acme/[[.Answers.Name]]-owners\n/Dockerfile  @acme/platform"},
		"templates/SECURITY.md.tmpl":         {"", "Report vulnerabilities in [[.Answers.Name]] to security@acme.example.\n"},
	})
	for v, tree := range map[string]string{"v1.0.0": v100, "v1.1.0": v110} {
		if err := p.Publish(tree, v); err != nil {
			t.Fatal(err)
		}
	}
	return v100, v110
}

func readLock(t *testing.T, dir string) spec.Lock {
	t.Helper()
	l, err := spec.ParseLock([]byte(readFile(t, filepath.Join(dir, spec.LockPath))))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// zdgen new with a module overlay: fetched through the proxy (latest
// resolved to its release), its defaults taken, its rules applied (exit
// 2 naming the overlay, the rule and the answer), its files and
// components in the service, and the lock recording module, version
// and checksum.
func TestNewWithModuleOverlay(t *testing.T) {
	acmeProxy(t)
	out := t.TempDir()
	code, _, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", filepath.Join(out, "bad"), "--overlay", acmeModule+"@v1.1.0", "--base-image", "gcr.io/distroless/static:nonroot")
	if code != exitUsage || !strings.Contains(errOut, "overlay acme@v1.1.0, rule base-image.pattern") || !strings.Contains(errOut, "base-image") {
		t.Fatalf("a base image outside the registry: exit %d, %s", code, errOut)
	}
	if exists(t, filepath.Join(out, "bad")) {
		t.Fatal("a refused service was written")
	}

	dir := filepath.Join(out, "orders")
	code, stdout, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", dir, "--overlay", acmeModule+"@latest", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, `"overlay": {`) || !strings.Contains(stdout, `"version": "v1.1.0"`) {
		t.Errorf("--json does not show the overlay:\n%s", stdout)
	}
	l := readLock(t, dir)
	if o := l.Overlay; o == nil || o.Module != acmeModule || o.Version != "v1.1.0" || o.Dir != "" || !strings.HasPrefix(o.Sum, "h1:") {
		t.Fatalf("lock overlay: %+v", l.Overlay)
	}
	if l.Answers.Module != "github.com/acme/orders" || l.Answers.BaseImage != "registry.acme.example/base/static:2026.11" {
		t.Errorf("the overlay's defaults were not taken: module %s, base image %s", l.Answers.Module, l.Answers.BaseImage)
	}
	for _, f := range []string{".github/CODEOWNERS", "SECURITY.md", "catalog-info.yaml", "deploy/k8s/overlay/log-shipper/sidecar.yaml"} {
		if !exists(t, filepath.Join(dir, filepath.FromSlash(f))) {
			t.Errorf("no %s", f)
		}
	}
	if k := readFile(t, filepath.Join(dir, "deploy/k8s/kustomization.yaml")); !strings.Contains(k, "components:\n  - overlay/log-shipper\n  - overlay/org-labels\n") {
		t.Errorf("kustomization:\n%s", k)
	}
}

// A repository generated by templates 0.6.0 with overlay v1.0.0 (the
// zdgen release and the overlay release recorded), an owner's edits in a handler, the Deployment and the
// overlay's CODEOWNERS: one upgrade moves it to this zdgen and overlay
// v1.1.0 at once, fetching v1.0.0 for the merge base; the edits stay,
// the overlay's changes arrive, the service still builds and tests;
// a second upgrade changes nothing.
func TestUpgradeAcrossOverlayAndZdgenReleases(t *testing.T) {
	v100, _ := acmeProxy(t)
	o, err := overlay.Load(v100)
	if err != nil {
		t.Fatal(err)
	}
	ov, err := overlay.Apply(o, acmeModule, "")
	if err != nil {
		t.Fatal(err)
	}
	a := repotest.Answers(t, overlay.WithName(map[string]string{"name": "orders", "module": "github.com/acme/_name_", "base-image": "registry.acme.example/base/static:2026.11"}, "orders"))
	dir := repotest.Service(t, generator.Service{Version: "0.6.0", Answers: a, Overlay: ov})
	git(t, dir, "init", "-q")
	commitAll(t, dir, "generated by zdgen 0.6.0 with acme v1.0.0")
	replaceIn(t, filepath.Join(dir, "internal/server/handlers.go"), "package server", "// Orders' own handlers.\npackage server")
	replaceIn(t, filepath.Join(dir, "deploy/k8s/deployment.yaml"), "  labels:\n", "  labels:\n    team: orders\n")
	replaceIn(t, filepath.Join(dir, ".github/CODEOWNERS"), "*            @acme/orders-owners", "*            @acme/orders-owners @acme/orders-oncall")
	// The owner takes one of the overlay's files as their own.
	replaceIn(t, filepath.Join(dir, spec.LockPath), "- owner: zdgen\n  path: catalog-info.yaml", "- owner: user\n  path: catalog-info.yaml")
	catalog := readFile(t, filepath.Join(dir, "catalog-info.yaml"))
	commitAll(t, dir, "owner edits")

	code, out, errOut := zdgen(t, nil, "upgrade", dir, "--set", "overlay-version=v1.1.0")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if want := "Upgraded from zdgen 0.6.0 to " + render.Version + " (overlay acme@v1.0.0 -> acme@v1.1.0)"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	for file, wants := range map[string][]string{
		"internal/server/handlers.go":                 {"// Orders' own handlers."},
		"deploy/k8s/deployment.yaml":                  {"team: orders"},
		".github/CODEOWNERS":                          {"@acme/orders-oncall", "/.github/    @acme/platform"},
		"deploy/k8s/overlay/log-shipper/sidecar.yaml": {"log-shipper:1.9.0"},
		"SECURITY.md":                                 {"Report vulnerabilities in orders"},
		"Makefile":                                    {render.Version},
	} {
		got := readFile(t, filepath.Join(dir, filepath.FromSlash(file)))
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", file, w, got)
			}
		}
	}
	if got := readFile(t, filepath.Join(dir, "catalog-info.yaml")); got != catalog || !strings.Contains(out, "yours, not updated") {
		t.Errorf("the owner's catalog-info.yaml was touched, or its change not reported:\n%s", out)
	}
	l := readLock(t, dir)
	if l.Version != render.Version || l.Overlay == nil || l.Overlay.Version != "v1.1.0" || l.Overlay.Module != acmeModule {
		t.Errorf("lock: version %s, overlay %+v", l.Version, l.Overlay)
	}
	back := realGo()
	vetAndTest(t, dir)
	back()
	commitAll(t, dir, "upgraded")

	if code, out, errOut := zdgen(t, nil, "upgrade", dir); code != exitOK || !strings.Contains(out, "up to date") {
		t.Errorf("second upgrade: exit %d:\n%s%s", code, out, errOut)
	}
	if code, out, errOut := zdgen(t, nil, "upgrade", dir, "--check"); code != exitOK {
		t.Errorf("--check after the upgrade: exit %d:\n%s%s", code, out, errOut)
	}
}

// A local overlay: recorded relative to the repository; an upgrade
// takes the directory's new content; once the directory no longer holds
// the recorded release, the base comes from the module proxy when the
// release is published, and the upgrade is refused (exit 2, saying what
// to do) when it is not; a next version is tried from a working copy with
// --overlay DIR, the base still from the recorded directory.
func TestLocalOverlayUpgrade(t *testing.T) {
	_, v110 := acmeProxy(t)
	root := t.TempDir()
	ovDir := filepath.Join(root, "platform", "overlay")
	if err := os.CopyFS(ovDir, os.DirFS(v110)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "services", "orders")
	t.Chdir(root)
	if code, _, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", "services/orders", "--overlay", "./platform/overlay"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	l := readLock(t, dir)
	if o := l.Overlay; o == nil || o.Dir != "../../platform/overlay" || o.Module != acmeModule || o.Version != "v1.1.0" {
		t.Fatalf("lock overlay: %+v", l.Overlay)
	}
	git(t, dir, "init", "-q")
	commitAll(t, dir, "generated")

	// The platform team works on v1.2.0 in the directory: the recorded
	// v1.1.0 is published, so the base is fetched and the new content
	// applied.
	replaceIn(t, filepath.Join(ovDir, "overlay.yaml"), "version: v1.1.0", "version: v1.2.0")
	replaceIn(t, filepath.Join(ovDir, "kustomize/org-labels/kustomization.yaml"), "cc-4711", "cc-4712")
	t.Chdir(dir)
	code, out, errOut := zdgen(t, nil, "upgrade")
	if code != exitOK || !strings.Contains(out, "(overlay acme@v1.1.0 -> acme@v1.2.0)") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if k := readFile(t, filepath.Join(dir, "deploy/k8s/overlay/org-labels/kustomization.yaml")); !strings.Contains(k, "cc-4712") {
		t.Errorf("the local overlay's change did not arrive:\n%s", k)
	}
	commitAll(t, dir, "overlay v1.2.0")

	// v1.2.0 changes again in place, and is published nowhere: the base
	// cannot be rebuilt.
	replaceIn(t, filepath.Join(ovDir, "kustomize/org-labels/kustomization.yaml"), "cc-4712", "cc-4713")
	before := readFile(t, filepath.Join(dir, spec.LockPath))
	code, _, errOut = zdgen(t, nil, "upgrade")
	if code != exitUsage || !strings.Contains(errOut, "cannot rebuild what overlay acme@v1.2.0 generated") || !strings.Contains(errOut, "check out its tag v1.2.0") {
		t.Errorf("changed local overlay: exit %d: %s", code, errOut)
	}
	if after := readFile(t, filepath.Join(dir, spec.LockPath)); after != before {
		t.Error("a refused upgrade changed the lock")
	}

	// The next version in a working copy beside the released directory,
	// which holds the recorded release again: the base comes from the
	// recorded directory, the new render from the working copy, and the
	// lock follows the working copy.
	replaceIn(t, filepath.Join(ovDir, "kustomize/org-labels/kustomization.yaml"), "cc-4713", "cc-4712")
	next := filepath.Join(root, "platform", "overlay-next")
	if err := os.CopyFS(next, os.DirFS(ovDir)); err != nil {
		t.Fatal(err)
	}
	replaceIn(t, filepath.Join(next, "overlay.yaml"), "version: v1.2.0", "version: v1.3.0")
	replaceIn(t, filepath.Join(next, "kustomize/org-labels/kustomization.yaml"), "cc-4712", "cc-4714")
	code, out, errOut = zdgen(t, nil, "upgrade", "--overlay", "../../platform/overlay-next")
	if code != exitOK || !strings.Contains(out, "(overlay acme@v1.2.0 -> acme@v1.3.0)") {
		t.Fatalf("--overlay a working copy: exit %d:\n%s%s", code, out, errOut)
	}
	if k := readFile(t, filepath.Join(dir, "deploy/k8s/overlay/org-labels/kustomization.yaml")); !strings.Contains(k, "cc-4714") {
		t.Errorf("the working copy's change did not arrive:\n%s", k)
	}
	if o := readLock(t, dir).Overlay; o == nil || o.Dir != "../../platform/overlay-next" || o.Version != "v1.3.0" {
		t.Errorf("lock overlay after --overlay a working copy: %+v", o)
	}
	commitAll(t, dir, "overlay v1.3.0 from a working copy")

	// Dropping the overlay takes its untouched files away.
	if code, out, errOut := zdgen(t, nil, "upgrade", "--overlay", "none"); code != exitOK || !strings.Contains(out, "(overlay acme@v1.3.0 -> none)") {
		t.Fatalf("--overlay none: exit %d:\n%s%s", code, out, errOut)
	}
	if exists(t, filepath.Join(dir, "deploy/k8s/overlay")) || exists(t, filepath.Join(dir, "SECURITY.md")) {
		t.Error("the overlay's files stayed")
	}
	if k := readFile(t, filepath.Join(dir, "deploy/k8s/kustomization.yaml")); strings.Contains(k, "components") {
		t.Errorf("the kustomization still lists components:\n%s", k)
	}
	if l := readLock(t, dir); l.Overlay != nil {
		t.Errorf("the lock still records %+v", l.Overlay)
	}
}

// An overlay file may not replace a file the service's owner writes, and
// --overlay must name a directory as a path or a module with a version.
func TestNewOverlayRefusals(t *testing.T) {
	dir := acmeRelease(t, "v1.0.0", `">=0.7.0"`, map[string][2]string{
		"templates/internal/server/handlers.go.tmpl": {"", "package server\n"},
	})
	out := filepath.Join(t.TempDir(), "orders")
	code, _, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", dir)
	if code != exitUsage || !strings.Contains(errOut, "replaces internal/server/handlers.go") {
		t.Errorf("replacing the owner's handlers: exit %d: %s", code, errOut)
	}
	code, _, errOut = zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", acmeModule)
	if code != exitUsage || !strings.Contains(errOut, "has no version") {
		t.Errorf("a module without a version: exit %d: %s", code, errOut)
	}
	old := acmeRelease(t, "v1.0.0", `"<0.7.0"`, nil)
	code, _, errOut = zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", old)
	if code != exitUsage || !strings.Contains(errOut, "supports zdgen templates <0.7.0, not "+render.Version) {
		t.Errorf("an overlay for older templates: exit %d: %s", code, errOut)
	}
	if exists(t, out) {
		t.Error("a refused service was written")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "overlay.yaml")); !bytes.Contains(b, []byte("acme")) {
		t.Error("the overlay was changed")
	}
}

// graceComponent is a component whose patch shortens every Deployment's
// grace period below what the shutdown sequence needs.
var graceComponent = map[string][2]string{
	"kustomize/fast-exit/kustomization.yaml": {"", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/terminationGracePeriodSeconds\n        value: 5\n"},
}

// The timing model holds on the manifests as kustomize builds them: an
// overlay whose component cuts the grace period is refused (exit 2) at
// zdgen new and at the upgrade that would bring it, and nothing is
// written.
func TestOverlayCannotBreakTheTimingModel(t *testing.T) {
	_, v110 := acmeProxy(t)
	bad := acmeRelease(t, "v1.1.0", `">=0.7.0"`, graceComponent)
	out := filepath.Join(t.TempDir(), "orders")
	code, _, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", bad)
	if code != exitUsage || !strings.Contains(errOut, "with overlay acme@v1.1.0") || !strings.Contains(errOut, "terminationGracePeriodSeconds 5s is too short") {
		t.Fatalf("new: exit %d: %s", code, errOut)
	}
	if exists(t, out) {
		t.Fatal("a refused service was written")
	}

	// A service from the good v1.1.0, read from a directory; then the
	// directory gains the component. The base comes from the published
	// v1.1.0; the new render is refused.
	local := filepath.Join(t.TempDir(), "acme")
	if err := os.CopyFS(local, os.DirFS(v110)); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", local); code != exitOK {
		t.Fatalf("new: exit %d: %s", code, errOut)
	}
	git(t, out, "init", "-q")
	commitAll(t, out, "generated")
	dst := filepath.Join(local, "kustomize", "fast-exit")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(bad, "kustomize", "fast-exit"))); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, filepath.Join(out, "deploy/k8s/kustomization.yaml"))
	code, _, errOut = zdgen(t, nil, "upgrade", out)
	if code != exitUsage || !strings.Contains(errOut, "terminationGracePeriodSeconds 5s is too short") {
		t.Errorf("upgrade: exit %d: %s", code, errOut)
	}
	if after := readFile(t, filepath.Join(out, "deploy/k8s/kustomization.yaml")); after != before {
		t.Error("a refused upgrade changed the kustomization")
	}
}

// On a terminal, zdgen proposes the overlay's defaults (the service's
// name in its module path) and holds each typed answer to its rules at
// once, asking again, as for zdgen's own rules.
func TestPromptWithOverlay(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "overlay", "acme")
	p := newFake(t, map[string][]string{
		"base-image": {"other (an image reference)", "docker.io/library/alpine:3.20", "registry.acme.example/base/static:2026.12"},
	})
	out := filepath.Join(t.TempDir(), "orders")
	code, _, errOut := zdgen(t, p, "new", "orders", "--output", out, "--overlay", "./"+filepath.ToSlash(dir))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if d := p.defaults["module"]; d != "github.com/acme/orders" {
		t.Errorf("proposed module %q, want the overlay's github.com/acme/orders", d)
	}
	if d := p.defaults["k8s-version"]; d != "1.34" {
		t.Errorf("proposed k8s-version %q, want the overlay's 1.34", d)
	}
	if r := strings.Join(p.rejected["base-image"], "\n"); !strings.Contains(r, "overlay acme@v1.4.0, rule base-image.pattern") {
		t.Errorf("a base image outside the registry was not refused at its prompt: %q", r)
	}
	if l := readLock(t, out); l.Answers.BaseImage != "registry.acme.example/base/static:2026.12" {
		t.Errorf("base image %q", l.Answers.BaseImage)
	}
}

// zdgen overlay check passes a good overlay on every answer set and prints
// the checksum the go command then records for its published release;
// it fails on a component that breaks the timing model and on a template
// that fails for one protocol only, naming the answer set; a rule that
// refuses the defaults alone is reported, not failed.
func TestOverlayCheck(t *testing.T) {
	_, v110 := acmeProxy(t)
	code, out, errOut := zdgen(t, nil, "overlay", "check", v110)
	if code != exitOK || !strings.Contains(out, "acme@v1.1.0 passes.") || strings.Count(out, "timing model holds") != 2*len(generator.CheckVariants) {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	f, err := overlay.Fetch(context.Background(), overlay.Source{Path: acmeModule, Version: "v1.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "checksum "+f.Sum+" ") {
		t.Errorf("the printed checksum is not the published release's %s:\n%s", f.Sum, out)
	}

	for _, c := range []struct {
		name  string
		edits map[string][2]string
		want  []string
	}{
		{"grace", graceComponent, []string{"http defaults", "terminationGracePeriodSeconds 5s is too short"}},
		{"grpc template", map[string][2]string{"templates/PROTO.md.tmpl": {"", "[[if .Proto]][[.Proto.Nope]][[end]]\n"}}, []string{"grpc defaults", "PROTO.md.tmpl"}},
	} {
		dir := acmeRelease(t, "v1.1.0", `">=0.7.0"`, c.edits)
		code, out, errOut := zdgen(t, nil, "overlay", "check", dir)
		if code != exitUsage {
			t.Errorf("%s: exit %d:\n%s", c.name, code, out)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: no %q in %s", c.name, w, errOut)
			}
		}
	}

	noModule := acmeRelease(t, "v1.1.0", `">=0.7.0"`, map[string][2]string{"overlay.yaml": {"  module: github.com/acme/_name_\n", ""}})
	code, out, errOut = zdgen(t, nil, "overlay", "check", noModule)
	if code != exitOK || !strings.Contains(out, "its rules refuse these answers") || !strings.Contains(out, "rule module.pattern") {
		t.Errorf("a rule without a default: exit %d:\n%s%s", code, out, errOut)
	}
}

// component is an overlay component kustomize/NAME whose one JSON patch
// (ops, indented as a block scalar's lines) applies to every object of
// kind.
func component(name, kind, ops string) map[string][2]string {
	return map[string][2]string{"kustomize/" + name + "/kustomization.yaml": {"",
		"apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target:\n      kind: " + kind + "\n    patch: |-\n" + ops}}
}

// The manifests are judged as kustomize builds them with the overlay's
// components, at zdgen new and at zdgen overlay check: a component that
// replaces the Service's selector (a full outage), cuts SHUTDOWN_TIMEOUT
// below WORK_MAX, or adds a second container is refused with exit 2,
// naming the overlay's component, the built object and the rule, in
// zdgen's words rather than a rehearsal's; nothing is written.
func TestOverlayComponentsAreJudgedAsBuilt(t *testing.T) {
	for _, c := range []struct {
		name  string
		edits map[string][2]string
		want  []string
	}{
		{"selector", component("retarget", "Service", "      - op: replace\n        path: /spec/selector\n        value: {app.kubernetes.io/name: nothing}\n"),
			[]string{"its component kustomize/retarget", "Service orders: selector app.kubernetes.io/name=nothing selects none of the pods"}},
		{"shutdown", component("quick-stop", "Deployment", "      - op: replace\n        path: /spec/template/spec/containers/0/env/1/value\n        value: 1s\n"),
			[]string{"its component kustomize/quick-stop", "Deployment orders breaks the timing model", "SHUTDOWN_TIMEOUT 1s is below WORK_MAX 10s"}},
		{"second container", component("helper", "Deployment", "      - op: add\n        path: /spec/template/spec/containers/-\n        value: {name: helper, image: registry.acme.example/helper:1.0.0}\n"),
			[]string{"its component kustomize/helper", "Deployment orders: 2 containers", "native sidecar"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := acmeRelease(t, "v1.1.0", `">=0.7.0"`, c.edits)
			out := filepath.Join(t.TempDir(), "orders")
			code, _, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", dir)
			if code != exitUsage {
				t.Errorf("new: exit %d: %s", code, errOut)
			}
			for _, w := range append([]string{"with overlay acme@v1.1.0", "with the components overlay/"}, c.want...) {
				if !strings.Contains(errOut, w) {
					t.Errorf("new: no %q in %s", w, errOut)
				}
			}
			if strings.Contains(errOut, "rehearsal") || strings.Contains(errOut, "deployment.yaml") {
				t.Errorf("new speaks of the rehearsal or of deployment.yaml: %s", errOut)
			}
			if exists(t, out) {
				t.Error("a refused service was written")
			}
			code, stdout, errOut := zdgen(t, nil, "overlay", "check", dir)
			if code != exitUsage {
				t.Errorf("overlay check: exit %d:\n%s", code, stdout)
			}
			for _, w := range append([]string{"http defaults"}, c.want...) {
				if !strings.Contains(errOut, strings.Replace(w, "orders", generator.CheckName, 1)) {
					t.Errorf("overlay check: no %q in %s", w, errOut)
				}
			}
		})
	}
}

// An overlay that would loop for hours, ask for gigabytes, write where
// zdgen has a directory or write into git's own directory is refused by
// zdgen new, zdgen overlay check and zdgen upgrade --overlay alike: exit
// 2 naming the overlay and its file, within the render's bounds, nothing
// written. Ctrl-C while an overlay renders exits 130.
func TestHostileOverlays(t *testing.T) {
	plain := filepath.Join(t.TempDir(), "plain")
	// Without an overlay, with answers the acme overlay's rules take.
	if code, _, errOut := zdgen(t, nil, "new", "plain", "--yes", "--output", plain, "--base-image", "registry.acme.example/base/static:2026.11", "--k8s-version", "1.34", "--module", "github.com/acme/plain"); code != exitOK {
		t.Fatalf("new: exit %d: %s", code, errOut)
	}
	git(t, plain, "init", "-q")
	commitAll(t, plain, "generated")
	lock := readFile(t, filepath.Join(plain, spec.LockPath))
	commands := func(dir, out string) [][]string {
		return [][]string{
			{"new", "orders", "--yes", "--output", out, "--overlay", dir},
			{"overlay", "check", dir},
			{"upgrade", plain, "--overlay", dir},
		}
	}
	for _, c := range []struct{ name, file, src, want string }{
		{"endless loop", "templates/t.txt.tmpl", "[[ range 100000000000 ]][[ end ]]", "steps|still rendering"},
		{"20 GB", "templates/t.txt.tmpl", `[[ repeat 2000000000 "abcdefghij" ]]`, "repeat would make"},
		{"a file where zdgen has a directory", "templates/internal.tmpl", "x\n", "a directory zdgen generates"},
		{"a file in .GIT", "templates/.GIT/config.tmpl", "[core]\n\tfsmonitor = false\n", "git's own directory"},
	} {
		dir := acmeRelease(t, "v1.0.0", `">=0.7.0"`, map[string][2]string{c.file: {"", c.src}})
		out := filepath.Join(t.TempDir(), "orders")
		for _, args := range commands(dir, out) {
			start := time.Now()
			code, _, errOut := zdgen(t, nil, args...)
			// Generous: the bounds stop a render within 5 s; without
			// them it runs for hours, or crashes.
			if d := time.Since(start); d > 60*time.Second {
				t.Errorf("%s: %s took %v", c.name, args[0], d)
			}
			said := false // one of the alternatives in want
			for _, w := range strings.Split(c.want, "|") {
				said = said || strings.Contains(errOut, w)
			}
			if code != exitUsage || !strings.Contains(errOut, "acme@v1.0.0") || !strings.Contains(errOut, c.file) || !said {
				t.Errorf("%s: %s: exit %d: %s", c.name, args[0], code, errOut)
			}
		}
		if exists(t, out) {
			t.Errorf("%s: a refused service was written", c.name)
		}
		if readFile(t, filepath.Join(plain, spec.LockPath)) != lock {
			t.Errorf("%s: a refused upgrade changed the lock", c.name)
		}
	}

	// Each step of this template takes some 100 ms: Ctrl-C comes while it
	// renders.
	slow := acmeRelease(t, "v1.0.0", `">=0.7.0"`, map[string][2]string{
		"templates/t.txt.tmpl": {"", `[[ range until 1000 ]][[ derivePassword 1 "long" "pw" "user" "example.com" ]][[ end ]]`},
	})
	out := filepath.Join(t.TempDir(), "orders")
	for _, args := range commands(slow, out) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(500*time.Millisecond, cancel)
		start := time.Now()
		code, _, errOut := zdgenCtx(t, ctx, nil, args...)
		cancel()
		if code != exitInterrupted || !strings.Contains(errOut, "interrupted") {
			t.Errorf("%s, interrupted: exit %d: %s", args[0], code, errOut)
		}
		if d := time.Since(start); d > 60*time.Second {
			t.Errorf("%s, interrupted: took %v", args[0], d)
		}
	}
	if exists(t, out) {
		t.Error("an interrupted service was written")
	}
}

// A service generated from a local overlay directory, with the CI
// workflow, is warned at new: the workflow's zdgen upgrade --check job
// runs in a checkout of the service alone, where the directory is not,
// so it fails from the first push until the overlay is published as a
// module. Without the workflow there is no warning; the warning goes to
// stderr, so --json stays one JSON value.
func TestNewWarnsOfALocalOverlayInCI(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "overlay", "acme")
	out := filepath.Join(t.TempDir(), "orders")
	code, stdout, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", dir, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	parseSummary(t, stdout)
	for _, want := range []string{"warning", "local directory", "upgrade --check", "publish", acmeModule + "@v1.4.0", "zdgen upgrade --overlay"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("no %q in the warning:\n%s", want, errOut)
		}
	}
	code, _, errOut = zdgen(t, nil, "new", "orders", "--yes", "--dry-run", "--ci", "none", "--overlay", dir)
	if code != exitOK || errOut != "" {
		t.Errorf("--ci none: exit %d, stderr %q; want no warning", code, errOut)
	}
}

// --json shows the overlay as .zdgen.yaml records it, in the plan: its
// release, where it came from and its checksum.
func TestJSONShowsTheOverlayChecksum(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "overlay", "acme")
	out := filepath.Join(t.TempDir(), "orders")
	code, stdout, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", dir, "--json", "--ci", "none")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s struct {
		Plan struct {
			Overlay *spec.Overlay `json:"overlay"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	l, o := readLock(t, out), s.Plan.Overlay
	if o == nil || l.Overlay == nil || (spec.LockOverlay{Name: o.Name, Version: o.Version, Module: o.Module, Dir: o.Dir, Sum: o.Sum}) != *l.Overlay || !strings.HasPrefix(o.Sum, "h1:") {
		t.Errorf("--json plan.overlay %+v; the lock records %+v", o, l.Overlay)
	}
}

// An upgrade whose answers break several of the overlay's rules names
// every one in a single refusal (exit 2), and writes nothing.
func TestUpgradeNamesEveryBrokenOverlayRule(t *testing.T) {
	local := filepath.Join(t.TempDir(), "acme")
	if err := os.CopyFS(local, os.DirFS(filepath.Join("..", "..", "examples", "overlay", "acme"))); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "orders")
	if code, _, errOut := zdgen(t, nil, "new", "orders", "--yes", "--output", out, "--overlay", local, "--ci", "none"); code != exitOK {
		t.Fatalf("new: exit %d: %s", code, errOut)
	}
	git(t, out, "init", "-q")
	commitAll(t, out, "generated")
	before := tree(t, out)
	code, _, errOut := zdgen(t, nil, "upgrade", out, "--set", "base-image=alpine", "--set", "k8s-version=1.30", "--set", "module=example.com/orders")
	if code != exitUsage {
		t.Errorf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"refuses 3 answers", "rule base-image.pattern", "rule k8s-version.allowed", "rule module.pattern"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("no %q in %s", want, errOut)
		}
	}
	sameTree(t, before, tree(t, out))
}
