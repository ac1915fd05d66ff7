package render

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/templates"
)

// Every template of every release this binary carries parses with zdgen's
// own functions: a template calling a function zdgen does not define (one
// of sprig's, say) fails here, not in front of a user upgrading from that
// release.
func TestEveryReleaseParsesWithOwnFunctions(t *testing.T) {
	for _, v := range templates.Releases() {
		tfs, err := templates.ForVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = fs.WalkDir(tfs, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") && !strings.HasSuffix(p, ".parts") {
				return err
			}
			b, err := fs.ReadFile(tfs, p)
			if err != nil {
				return err
			}
			if _, err := template.New(p).Delims(leftDelim, rightDelim).Funcs(funcs).Parse(string(b)); err != nil {
				t.Errorf("release %s: %v", v, err)
			}
			n++
			return nil
		})
		if err != nil || n == 0 {
			t.Fatalf("release %s: %d templates, %v", v, n, err)
		}
	}
}

// A common template's protocol parts (PROTOCOL/PATH.parts) are an
// interface: both protocols define the same templates, for a common
// template that is there.
func TestProtocolPartsMatch(t *testing.T) {
	defined := func(p string) []string {
		b, err := fs.ReadFile(templates.FS, p)
		if err != nil {
			return nil
		}
		set, err := template.New(p).Delims(leftDelim, rightDelim).Funcs(funcs).Parse(string(b))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range set.Templates() {
			if d.Name() != p {
				names = append(names, d.Name())
			}
		}
		slices.Sort(names)
		return names
	}
	n := 0
	for _, proto := range []string{spec.ProtocolHTTP, spec.ProtocolGRPC} {
		err := fs.WalkDir(templates.FS, proto, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !strings.HasSuffix(p, ".parts") {
				return err
			}
			n++
			rel := strings.TrimPrefix(p, proto+"/")
			if _, err := fs.Stat(templates.FS, "common/"+strings.TrimSuffix(rel, ".parts")+".tmpl"); err != nil {
				t.Errorf("%s: no common template takes these parts: %v", p, err)
			}
			for _, other := range []string{spec.ProtocolHTTP, spec.ProtocolGRPC} {
				if a, b := defined(p), defined(other+"/"+rel); !slices.Equal(a, b) {
					t.Errorf("%s defines %q, %s/%s %q: both protocols define the same parts", p, a, other, rel, b)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Error("no protocol parts found")
	}
}

func TestTrunc(t *testing.T) {
	long := strings.Repeat("a", 60) + "bcdef"
	for _, c := range []struct {
		n    int
		s    string
		want string
	}{
		{54, long, long[:54]},
		{54, "greeter", "greeter"},
		{7, "greeter", "greeter"},
		{0, "greeter", ""},
		{-3, "greeter", "ter"},
		{-10, "greeter", "greeter"},
	} {
		if got := trunc(c.n, c.s); got != c.want {
			t.Errorf("trunc(%d, %q) = %q, want %q", c.n, c.s, got, c.want)
		}
	}
}

// A row the derived-numbers table gained in a later release is not in an
// earlier release's README: an upgrade rebuilds that README, as its merge
// base, exactly as the release wrote it.
func TestDerivedRowsFollowTheRelease(t *testing.T) {
	a, err := spec.Resolve(map[string]string{"name": "orders", "replicas": "3", "k8s-version": "1.31"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := spec.NewPlan(a)
	if err != nil {
		t.Fatal(err)
	}
	const row = "| `PodDisruptionBudget unhealthyPodEvictionPolicy` | AlwaysAllow |"
	for version, want := range map[string]bool{"0.7.0": false, Version: true} {
		files, err := RenderVersion(version, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Path == "README.md" && strings.Contains(string(f.Content), row) != want {
				t.Errorf("templates %s: README lists the row %q: %v, want %v", version, row, !want, want)
			}
		}
	}
}
