package generator

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/write"
)

var updateModules = flag.Bool("update-modules", false, "rewrite templates/common/go.mod.tmpl and go.sum.tmpl from templates/requires.txt with go mod tidy")

// moduleSets are the answers that reach each dependency set a generated
// go.mod can have.
var moduleSets = [][]string{
	{"protocol=http", "metrics=false"},
	{"protocol=http"},
	{"protocol=http", "metrics=false", "tracing=otlp"},
	{"protocol=http", "tracing=otlp"},
	{"protocol=grpc", "metrics=false"},
	{"protocol=grpc"},
	{"protocol=grpc", "metrics=false", "tracing=otlp"},
	{"protocol=grpc", "tracing=otlp"},
}

// requirement is one line of templates/requires.txt.
type requirement struct {
	path, version string
	when          []string // every word must hold: http, grpc, metrics, otlp
}

func readRequires(t *testing.T) []requirement {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "templates", "requires.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var reqs []requirement
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("templates/requires.txt:%d: want MODULE VERSION WHEN...", n)
		}
		for _, w := range f[2:] {
			if w != "http" && w != "grpc" && w != "metrics" && w != "otlp" {
				t.Fatalf("templates/requires.txt:%d: %q is not http, grpc, metrics or otlp", n, w)
			}
		}
		reqs = append(reqs, requirement{f[0], f[1], f[2:]})
	}
	return reqs
}

// holds reports whether a requirement applies to a dependency set
// ("grpc-metrics-otlp").
func (r requirement) holds(set string) bool {
	words := strings.Split(set, "-")
	for _, w := range r.when {
		found := false
		for _, s := range words {
			found = found || s == w
		}
		if !found {
			return false
		}
	}
	return true
}

// tidy is what go mod tidy makes of a generated tree whose go.mod lists
// only the direct requirements of its dependency set.
func tidy(t *testing.T, p *spec.Plan, files []spec.File, reqs []requirement) (gomod, gosum []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), p.Answers.Name)
	if err := write.Write(context.Background(), dir, files, false); err != nil {
		t.Fatal(err)
	}
	var mod strings.Builder
	fmt.Fprintf(&mod, "module %s\n\ngo %s\n", p.Answers.Module, p.Toolchain.GoDirective)
	var direct []string
	for _, r := range reqs {
		if r.holds(p.ModuleSet) {
			direct = append(direct, "\t"+r.path+" "+r.version+"\n")
		}
	}
	if len(direct) > 0 {
		fmt.Fprintf(&mod, "\nrequire (\n%s)\n", strings.Join(direct, ""))
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, "go.sum"))
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = dir
	// The Go on this machine, never a toolchain download: the go line
	// starts as the plan's, and tidy raises it if a dependency needs more.
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: go mod tidy: %v\n%s", p.ModuleSet, err, out)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gosum, err = os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return gomod, gosum
}

// Every dependency set's go.mod and go.sum are what go mod tidy makes of
// the generated code and templates/requires.txt: nothing missing (the
// service would not build with -mod=readonly), nothing extra, each
// module's checksum the proxy's. -update-modules rewrites the two
// templates from tidy's output.
func TestGoModulesTidy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy, which needs the module proxy or a warm module cache")
	}
	reqs := readRequires(t)
	mods, sums := map[string]string{}, map[string]string{}
	var sets []string
	for _, kv := range moduleSets {
		a, err := set(t, kv...)
		if err != nil {
			t.Fatal(err)
		}
		p, files, err := Generate(a)
		if err != nil {
			t.Fatal(err)
		}
		gomod, gosum := tidy(t, p, files, reqs)
		// tidy raises the go line when a dependency needs a newer Go; it
		// must not change the module line, nor pin a toolchain (that would
		// be whichever Go ran this test).
		head := fmt.Sprintf("module %s\n", p.Answers.Module)
		if !bytes.HasPrefix(gomod, []byte(head)) || bytes.Contains(gomod, []byte("\ntoolchain ")) {
			t.Fatalf("%s: go mod tidy changed the module line or added a toolchain line:\n%s", p.ModuleSet, gomod)
		}
		sets = append(sets, p.ModuleSet)
		mods[p.ModuleSet] = string(gomod[len(head):])
		sums[p.ModuleSet] = string(gosum)
		if *updateModules {
			continue
		}
		got := map[string]string{}
		for _, f := range files {
			got[f.Path] = string(f.Content)
		}
		if got["go.mod"] != string(gomod) {
			t.Errorf("%s: generated go.mod is not tidy; go test ./generator -run TestGoModulesTidy -update-modules rewrites it\ngenerated:\n%s\ntidy:\n%s", p.ModuleSet, got["go.mod"], gomod)
		}
		if got["go.sum"] != string(gosum) {
			t.Errorf("%s: generated go.sum is not what go mod tidy writes; go test ./generator -run TestGoModulesTidy -update-modules rewrites it", p.ModuleSet)
		}
	}
	if *updateModules {
		writeModuleTemplates(t, sets, mods, sums)
	}
}

// writeModuleTemplates writes go.mod.tmpl and go.sum.tmpl: one block per
// dependency set, chosen by the plan's ModuleSet, with the go line tidy
// wrote (the protocol's, or newer when a dependency needs it). A set with
// nothing to sum has no go.sum.
func writeModuleTemplates(t *testing.T, sets []string, mods, sums map[string]string) {
	t.Helper()
	sort.Strings(sets)
	var mod, sum strings.Builder
	mod.WriteString("module [[.Answers.Module]]\n")
	for i, s := range sets {
		kw := "else if"
		if i == 0 {
			kw = "if"
		}
		fmt.Fprintf(&mod, "[[- %s eq .ModuleSet %q]]\n%s", kw, s, mods[s])
	}
	mod.WriteString("[[- end]]\n")
	first := true
	for _, s := range sets {
		if sums[s] == "" {
			continue
		}
		switch {
		case first:
			fmt.Fprintf(&sum, "[[- if eq .ModuleSet %q -]]\n%s", s, sums[s])
		default:
			fmt.Fprintf(&sum, "[[ else if eq .ModuleSet %q -]]\n%s", s, sums[s])
		}
		first = false
	}
	if !first {
		sum.WriteString("[[ end -]]\n")
	}
	dir := filepath.Join("..", "templates", "common")
	if err := os.WriteFile(filepath.Join(dir, "go.mod.tmpl"), []byte(mod.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum.tmpl"), []byte(sum.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote templates/common/go.mod.tmpl and go.sum.tmpl for %s", strings.Join(sets, ", "))
}
