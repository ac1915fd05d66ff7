package overlay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

// acmeDir is the example overlay, which these tests hold to what they say
// of it.
const acmeDir = "../../examples/overlay/acme"

// minimal is a good overlay's files; each bad case changes one thing.
var minimal = map[string]string{
	"overlay.yaml": `name: acme
version: v1.0.0
zdgen: ">=0.6.0 <0.7.0"
defaults:
  base-image: registry.acme.example/base/static:2026.11
rules:
  base-image:
    pattern: 'registry\.acme\.example/.+'
`,
	"templates/NOTICE.tmpl":                     "[[.Answers.Name]] is an Acme service.\n",
	"kustomize/labels/kustomization.yaml":       "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs: {acme.example/team: platform}\n",
	"kustomize/labels/notes/readme-not-yaml.md": "Components may hold other files.\n",
}

// newTree writes files (slash paths) into a new directory.
func newTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	return dir
}

// with returns minimal with files changed; an empty content removes a file.
func with(changes map[string]string) map[string]string {
	m := maps.Clone(minimal)
	for p, c := range changes {
		if c == "" {
			delete(m, p)
		} else {
			m[p] = c
		}
	}
	return m
}

// editDescription returns minimal's overlay.yaml with old replaced by new.
func editDescription(old, new string) map[string]string {
	if !strings.Contains(minimal["overlay.yaml"], old) {
		panic("overlay.yaml has no " + old)
	}
	return with(map[string]string{"overlay.yaml": strings.Replace(minimal["overlay.yaml"], old, new, 1)})
}

func TestLoadMinimal(t *testing.T) {
	o, err := Load(newTree(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if o.ID() != "acme@v1.0.0" || o.Module != "" {
		t.Errorf("id %s, module %q", o.ID(), o.Module)
	}
	if got := o.Components(); !slices.Equal(got, []string{"overlay/labels"}) {
		t.Errorf("components %v", got)
	}
	if got := o.Defaults(); !maps.Equal(got, map[string]string{"base-image": "registry.acme.example/base/static:2026.11"}) {
		t.Errorf("defaults %v", got)
	}
}

// Defaults are kept as written, as --config keeps answers: an unquoted
// 1.30 stays "1.30", not the number 1.3.
func TestDefaultsAsWritten(t *testing.T) {
	o, err := Load(newTree(t, editDescription("defaults:\n", "defaults:\n  k8s-version: 1.30\n  replicas: 5\n  metrics: false\n  max-request: &long 30s\n  startup-time: *long\n")))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"base-image":   "registry.acme.example/base/static:2026.11",
		"k8s-version":  "1.30",
		"replicas":     "5",
		"metrics":      "false",
		"max-request":  "30s",
		"startup-time": "30s",
	}
	if got := o.Defaults(); !maps.Equal(got, want) {
		t.Errorf("defaults %v, want %v", got, want)
	}
}

// Every way an overlay can be broken is refused at Load as bad input (exit
// 2), naming the file at fault and what is wrong.
func TestLoadRefuses(t *testing.T) {
	big := strings.Repeat("x", maxFileSize+1)
	for _, c := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"no overlay.yaml", with(map[string]string{"overlay.yaml": ""}), []string{"no overlay.yaml"}},
		{"bad YAML", with(map[string]string{"overlay.yaml": "name: [acme\n"}), []string{"overlay.yaml", "did not find expected"}},
		{"empty", with(map[string]string{"overlay.yaml": "# nothing\n"}), []string{"overlay.yaml: empty"}},
		{"not a map", with(map[string]string{"overlay.yaml": "- acme\n"}), []string{"not a YAML map"}},
		{"second document", editDescription("rules:", "---\nrules:"), []string{"more than one YAML document"}},
		{"unknown key", editDescription("name: acme", "name: acme\ncolour: blue"), []string{"unknown key colour", "known: defaults, name, rules, version, zdgen"}},
		{"unknown rule key", editDescription("pattern:", "regex:"), []string{"unknown key rules.base-image.regex"}},
		{"duplicate key", editDescription("name: acme", "name: acme\nname: other"), []string{"name given twice (lines 1 and 2)"}},
		{"duplicate nested key", editDescription("defaults:\n", "defaults:\n  ci: none\n  ci: github\n"), []string{"ci given twice"}},
		{"merge key", editDescription("defaults:\n", "x: &d {ci: none}\ndefaults:\n  <<: *d\n"), []string{"merge keys"}},
		{"bad name", editDescription("name: acme", "name: Acme_Corp"), []string{`name "Acme_Corp"`}},
		{"version without v", editDescription("version: v1.0.0", "version: 1.0.0"), []string{`version "1.0.0"`, "v1.4.0"}},
		{"version not canonical", editDescription("version: v1.0.0", "version: v1.0"), []string{`version "v1.0"`}},
		{"no zdgen", editDescription(`zdgen: ">=0.6.0 <0.7.0"`, ""), []string{"zdgen: say which"}},
		{"bad constraint", editDescription(`zdgen: ">=0.6.0 <0.7.0"`, `zdgen: ">=banana"`), []string{`zdgen ">=banana"`, "not a version constraint"}},
		{"unknown default", editDescription("defaults:\n", "defaults:\n  colour: blue\n"), []string{"defaults: colour: unknown answer", "known: name, protocol"}},
		{"name default", editDescription("defaults:\n", "defaults:\n  name: svc\n"), []string{"defaults: name: each service names itself"}},
		{"empty default", editDescription("defaults:\n", "defaults:\n  ci:\n"), []string{"defaults: ci: want a value"}},
		{"default fails its field", editDescription("defaults:\n", "defaults:\n  replicas: \"0\"\n"), []string{"defaults: replicas", `"0"`}},
		{"default image latest", editDescription("base-image: registry.acme.example/base/static:2026.11", "base-image: registry.acme.example/base/static:latest"), []string{"defaults: base-image", "latest moves under you"}},
		{"default breaks own rule", editDescription("base-image: registry.acme.example/base/static:2026.11", "base-image: docker.io/library/alpine:3.20"), []string{"the default base-image breaks the overlay's own rule", "base-image.pattern"}},
		{"rule on unknown answer", editDescription("rules:\n", "rules:\n  colour:\n    allowed: [blue]\n"), []string{"rules: colour: unknown answer"}},
		{"rule on name", editDescription("rules:\n", "rules:\n  name:\n    pattern: 'acme-.*'\n"), []string{"rules: name: each service names itself"}},
		{"rule without constraint", editDescription("rules:\n", "rules:\n  ci: {}\n"), []string{"rules: ci: give allowed values, a pattern, or both"}},
		{"rule with bad regexp", editDescription(`'registry\.acme\.example/.+'`, `'registry\.(acme'`), []string{"rules: base-image: pattern", "missing closing )"}},
		{"rule allows an invalid value", editDescription("rules:\n", "rules:\n  k8s-version:\n    allowed: [\"2.0\"]\n"), []string{"rules: k8s-version: allowed value \"2.0\"", "want a Kubernetes version"}},
		{"template does not parse", with(map[string]string{"templates/x.tmpl": "[[ if ]]"}), []string{"acme@v1.0.0", "templates/x.tmpl", "missing value for if"}},
		{"template calls a non-hermetic function", with(map[string]string{"templates/x.tmpl": "[[ now ]]"}), []string{"templates/x.tmpl", `function "now" not defined`}},
		{"template reads the environment", with(map[string]string{"templates/x.tmpl": `[[ env "HOME" ]]`}), []string{`function "env" not defined`}},
		{"template without .tmpl", with(map[string]string{"templates/x.txt": "x"}), []string{"templates/x.txt", "ends in .tmpl"}},
		{"template replacing the lock", with(map[string]string{"templates/.zdgen.yaml.tmpl": "generator: acme\n"}), []string{"templates/.zdgen.yaml.tmpl", "cannot replace it"}},
		{"template into the kustomize directory", with(map[string]string{"templates/deploy/k8s/overlay/x.yaml.tmpl": "a: b\n"}), []string{"kustomize/"}},
		{"template named ..tmpl", with(map[string]string{"templates/..tmpl": "x"}), []string{"not a clean path"}},
		{"template into .GIT", with(map[string]string{"templates/.GIT/config.tmpl": "[core]\n\tfsmonitor = touch /tmp/pwned\n"}), []string{"templates/.GIT/config.tmpl", ".GIT", "git"}},
		{"template into GIT~1", with(map[string]string{"templates/GIT~1/config.tmpl": "[core]\n"}), []string{"templates/GIT~1/config.tmpl", "GIT~1"}},
		{"template into .git with a trailing space", with(map[string]string{"templates/.git /config.tmpl": "[core]\n"}), []string{"templates/.git /config.tmpl"}},
		{"component named .Git", with(map[string]string{"kustomize/.Git/kustomization.yaml": minimal["kustomize/labels/kustomization.yaml"]}), []string{"kustomize/.Git/kustomization.yaml", ".Git"}},
		{"file too big", with(map[string]string{"templates/big.tmpl": big}), []string{"templates/big.tmpl: larger than 1 MiB"}},
		{"a name a module cannot hold", with(map[string]string{"templates/CON.tmpl": "x"}), []string{"templates/CON.tmpl", "disallowed"}},
		{"vendor directory", with(map[string]string{"templates/vendor/x.tmpl": "x"}), []string{"templates/vendor: a module zip leaves vendor directories out"}},
		{"nested module", with(map[string]string{"docs/go.mod": "module x\n"}), []string{"docs holds a go.mod"}},
		{"go.mod without module", with(map[string]string{"go.mod": "go 1.24\n"}), []string{"go.mod: declares no module path"}},
		{"kustomize YAML does not parse", with(map[string]string{"kustomize/labels/patch.yaml": "a: [b\n"}), []string{"kustomize/labels/patch.yaml", "not valid YAML"}},
		{"kustomize YAML key twice", with(map[string]string{"kustomize/labels/patch.yaml": "a: 1\na: 2\n"}), []string{"kustomize/labels/patch.yaml", "a given twice"}},
		{"kustomize file outside a component", with(map[string]string{"kustomize/patch.yaml": "kind: Deployment\n"}), []string{"kustomize/patch.yaml", "belong to a component"}},
		{"component without kustomization", with(map[string]string{"kustomize/sidecar/patch.yaml": "kind: Deployment\n"}), []string{"kustomize/sidecar", "needs a kustomization.yaml"}},
		{"component of the wrong kind", with(map[string]string{"kustomize/labels/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"}), []string{"kustomize/labels/kustomization.yaml", "kind Component"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(newTree(t, c.files))
			if err == nil {
				t.Fatal("loaded")
			}
			if !spec.IsInputError(err) {
				t.Errorf("%v: not an InputError (exit 2)", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nwant it to say %q", err, w)
				}
			}
		})
	}
}

func TestLoadTooManyFiles(t *testing.T) {
	files := maps.Clone(minimal)
	for i := range maxFiles {
		files[fmt.Sprintf("docs/%d.txt", i)] = "x"
	}
	_, err := Load(newTree(t, files))
	if err == nil || !spec.IsInputError(err) || !strings.Contains(err.Error(), "more than 500 files") {
		t.Fatalf("got %v", err)
	}
}

// A symbolic link is refused whether it leaves the tree or not: a module
// zip cannot carry one, so the overlay would render differently once
// published.
func TestLoadRefusesSymlinks(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("[[.Answers.Name]]"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, link, target string }{
		{"out of the tree", "templates/secret.tmpl", outside},
		{"to a parent", "templates/up.tmpl", "../../overlay.yaml"},
		{"inside the tree", "templates/same.tmpl", "NOTICE.tmpl"},
		{"directory out of the tree", "templates/etc", filepath.Dir(outside)},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := newTree(t, minimal)
			if err := os.Symlink(c.target, filepath.Join(dir, filepath.FromSlash(c.link))); err != nil {
				t.Skip("no symbolic links here:", err)
			}
			_, err := Load(dir)
			if err == nil || !spec.IsInputError(err) || !strings.Contains(err.Error(), c.link+" is a symbolic link") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// Version control metadata is not part of an overlay, as it is not part of
// a module zip.
func TestLoadSkipsVCS(t *testing.T) {
	o, err := Load(newTree(t, with(map[string]string{".git/config": "[core]\n", ".git/big": strings.Repeat("x", maxFileSize+1)})))
	if err != nil {
		t.Fatal(err)
	}
	for p := range o.files {
		if strings.HasPrefix(p, ".git") {
			t.Errorf("loaded %s", p)
		}
	}
}

func TestCheckOutPath(t *testing.T) {
	for _, p := range []string{"", ".", "..", "../x", "a/../../x", "/etc/passwd", "a/../b", "./a", "a//b", "a/", `a\b`, ".zdgen.yaml", "deploy/k8s/overlay", "deploy/k8s/overlay/x.yaml"} {
		if checkOutPath(p) == nil {
			t.Errorf("%q accepted", p)
		}
	}
	// Every name git itself refuses in a tree for being its own
	// directory on some file system: any case of .git (macOS and
	// Windows ignore case), .git with code points HFS+ ignores, and what
	// NTFS reads as .git (trailing dots and spaces, an alternate data
	// stream, the short name GIT~1).
	for _, p := range []string{
		".git", ".git/config", ".GIT/config", ".Git/hooks/pre-commit", "a/.gIt/config", "a/b/.GIT",
		".git /config", ".git. /config", ".git::$INDEX_ALLOCATION/config", "git~1/config", "GIT~1/config", "a/Git~1. ",
		".g\u200cit/config", "\ufeff.GIT/config", ".gi\u200et", ".\u206aGiT/x",
	} {
		err := checkOutPath(p)
		if err == nil {
			t.Errorf("%q accepted", p)
		} else if !strings.Contains(err.Error(), "git") {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"CODEOWNERS", ".github/CODEOWNERS", "deploy/k8s/deployment.yaml", "deploy/k8s/overlayx", "a/.zdgen.yaml",
		".gitignore", ".gitattributes", ".github", "git", "x.git", ".gitx", "git~2", "agit~1", ".g.it"} {
		if err := checkOutPath(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
}

func TestSupports(t *testing.T) {
	o, err := Load(acmeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0.8.0", "0.8.9"} {
		if err := o.Supports(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for _, v := range []string{"0.7.0", "0.9.0", "1.0.0", "banana"} {
		err := o.Supports(v)
		if err == nil || !spec.IsInputError(err) {
			t.Errorf("%s: %v, want an InputError", v, err)
			continue
		}
		if v != "banana" && !strings.Contains(err.Error(), "acme@v1.4.0") || !strings.Contains(err.Error(), v) {
			t.Errorf("%s: %v", v, err)
		}
	}
}

// acmeAnswers are complete answers for a service that takes the acme
// overlay's defaults, changed by given.
func acmeAnswers(t *testing.T, o *Overlay, given map[string]string) spec.Answers {
	t.Helper()
	m := o.Defaults()
	m["name"] = "orders"
	m["module"] = "github.com/acme/orders"
	maps.Copy(m, given)
	a, err := spec.Resolve(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A rule violation names the answer, the overlay and the rule, as bad
// input.
func TestCheck(t *testing.T) {
	o, err := Load(acmeDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Check(acmeAnswers(t, o, nil)); err != nil {
		t.Fatalf("the overlay's own defaults: %v", err)
	}
	for _, c := range []struct {
		given map[string]string
		want  string // "" passes
	}{
		{map[string]string{"base-image": "registry.acme.example/base/debian:12"}, ""},
		{map[string]string{"base-image": "docker.io/library/alpine:3.20"}, `base-image: "docker.io/library/alpine:3.20": overlay acme@v1.4.0, rule base-image.pattern: must match registry\.acme\.example/.+ whole`},
		// Anchored: the registry's name inside another registry's path
		// does not pass.
		{map[string]string{"base-image": "evil.example/registry.acme.example/x:1"}, "rule base-image.pattern"},
		{map[string]string{"base-image": "distroless"}, "rule base-image.pattern"},
		{map[string]string{"k8s-version": "1.35"}, ""},
		{map[string]string{"k8s-version": "v1.35.2"}, ""}, // the field writes it 1.35
		{map[string]string{"k8s-version": "1.30"}, `k8s-version: "1.30": overlay acme@v1.4.0, rule k8s-version.allowed: must be one of 1.33, 1.34, 1.35`},
		{map[string]string{"module": "github.com/other/orders"}, "rule module.pattern"},
	} {
		err := o.Check(acmeAnswers(t, o, c.given))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.given, err)
		case c.want != "" && (err == nil || !spec.IsInputError(err) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: %v\nwant an InputError saying %q", c.given, err, c.want)
		}
	}
}

// A rule on an answer that does not apply (replicas under autoscale) is
// not checked: the value is kept but unused.
func TestCheckSkipsUnusedAnswers(t *testing.T) {
	o, err := Load(newTree(t, editDescription("rules:\n", "rules:\n  replicas:\n    allowed: [\"3\"]\n")))
	if err != nil {
		t.Fatal(err)
	}
	a := acmeAnswers(t, o, map[string]string{"replicas": "2", "module": "example.com/x"})
	if err := o.Check(a); err == nil || !strings.Contains(err.Error(), "rule replicas.allowed") {
		t.Errorf("replicas 2 without autoscale: %v", err)
	}
	a = acmeAnswers(t, o, map[string]string{"replicas": "2", "autoscale": "2-4", "module": "example.com/x"})
	if err := o.Check(a); err != nil {
		t.Errorf("replicas under autoscale: %v", err)
	}
}

// A directory that is not there, or not a directory, is bad input.
func TestLoadNoTree(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(t.TempDir(), "absent"), file} {
		if _, err := Load(dir); err == nil || !spec.IsInputError(err) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: %v", dir, err)
		}
	}
}

// The service's name can complete a path git refuses (a service named git
// and a template under _name_~1/): refused at render, naming the template.
func TestRenderRefusesGitPathsFromTheName(t *testing.T) {
	o, err := Load(newTree(t, with(map[string]string{"templates/_name_~1/config.tmpl": "[core]\n"})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Render(context.Background(), plan(t, map[string]string{"name": "orders"})); err != nil {
		t.Fatal(err)
	}
	_, err = o.Render(context.Background(), plan(t, map[string]string{"name": "git", "module": "github.com/acme/git"}))
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "templates/_name_~1/config.tmpl") || !strings.Contains(err.Error(), "git~1") {
		t.Errorf("got %v", err)
	}
}

// Errors repeat at most the start of a value an overlay gives (a rule's
// allowed value or pattern, a default, a template's fail message): a
// value of 400 kB makes a message of a line or two.
func TestErrorsClipOverlayValues(t *testing.T) {
	long := strings.Repeat("x", 400_000)
	for _, c := range []struct{ name, old, new string }{
		{"allowed value", "rules:\n", "rules:\n  module:\n    allowed: [\"" + long + "\"]\n"},
		{"default", "defaults:\n", "defaults:\n  module: \"" + long + "\"\n"},
		{"unknown default", "defaults:\n", "defaults:\n  " + long + ": x\n"},
		{"bad pattern", `'registry\.acme\.example/.+'`, "'(" + long + "'"},
		{"default breaks a long pattern", `'registry\.acme\.example/.+'`, "'" + long + "'"},
		{"name", "name: acme", "name: " + long},
		{"version", "version: v1.0.0", "version: " + long},
		{"zdgen", `zdgen: ">=0.6.0 <0.7.0"`, "zdgen: " + long},
	} {
		_, err := Load(newTree(t, editDescription(c.old, c.new)))
		if err == nil {
			t.Errorf("%s: loaded", c.name)
		} else if len(err.Error()) > 2000 {
			t.Errorf("%s: a message of %d bytes", c.name, len(err.Error()))
		}
	}
	// A rule with a long pattern, and allowed values, refusing an answer.
	o, err := Load(newTree(t, editDescription("rules:\n", "rules:\n  module:\n    pattern: 'x"+long+"|github\\.com/.*'\n  ci:\n    allowed: [none]\n")))
	if err != nil {
		t.Fatal(err)
	}
	a, err := spec.Resolve(map[string]string{"name": "orders", "module": "example.com/orders"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Check(a); err == nil || len(err.Error()) > 2000 {
		t.Errorf("a long pattern refusing a long answer: %d bytes", len(fmt.Sprint(err)))
	}
	o, err = Load(newTree(t, with(map[string]string{"templates/t.tmpl": `[[ fail (repeat 400000 "x") ]]`})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Render(context.Background(), plan(t, nil)); err == nil || len(err.Error()) > 2000 {
		t.Errorf("a template failing with a long message: %d bytes", len(fmt.Sprint(err)))
	}
}

// Every rule the answers break is named in one error, so that a person
// fixes them all at once instead of learning of them one run at a time;
// it is still bad input, and one broken rule reads as before.
func TestCheckNamesEveryBrokenRule(t *testing.T) {
	o, err := Load(acmeDir)
	if err != nil {
		t.Fatal(err)
	}
	err = o.Check(acmeAnswers(t, o, map[string]string{
		"base-image": "docker.io/library/alpine:3.20", "k8s-version": "1.30", "module": "github.com/other/orders",
	}))
	if err == nil || !spec.IsInputError(err) {
		t.Fatalf("three broken rules: %v; want an InputError", err)
	}
	for _, want := range []string{
		"overlay acme@v1.4.0 refuses 3 answers",
		`base-image: "docker.io/library/alpine:3.20": overlay acme@v1.4.0, rule base-image.pattern`,
		`k8s-version: "1.30": overlay acme@v1.4.0, rule k8s-version.allowed`,
		`module: "github.com/other/orders": overlay acme@v1.4.0, rule module.pattern`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in\n%v", want, err)
		}
	}
	var ie *spec.InputError
	if !errors.As(err, &ie) || ie.Field != "base-image" {
		t.Errorf("errors.As finds %+v; want the first broken rule's InputError", ie)
	}
	err = o.Check(acmeAnswers(t, o, map[string]string{"k8s-version": "1.30"}))
	if want := `k8s-version: "1.30": overlay acme@v1.4.0, rule k8s-version.allowed: must be one of 1.33, 1.34, 1.35`; err == nil || err.Error() != want {
		t.Errorf("one broken rule: %v; want %q", err, want)
	}
}
