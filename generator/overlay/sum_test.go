package overlay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// Sum is the hash Go records for the module zip of the overlay at its
// version: what `go mod download -json` reports and go.sum holds.
func TestSumIsTheModuleZipHash(t *testing.T) {
	o, err := Load(acmeDir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := o.Sum()
	if err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(t.TempDir(), "overlay.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromDir(f, module.Version{Path: o.Module, Version: o.Version}, acmeDir); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want, err := dirhash.HashZip(zipPath, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	if o.Module != "example.com/acme/zdgen-overlay" || sum != want {
		t.Errorf("module %s: Sum %s, the module zip's hash %s", o.Module, sum, want)
	}
}

// Sum depends on the content and names of the files, not on where the
// tree is or on version control metadata; without a go.mod the overlay's
// name stands for the module path.
func TestSum(t *testing.T) {
	sumOf := func(files map[string]string) string {
		t.Helper()
		o, err := Load(newTree(t, files))
		if err != nil {
			t.Fatal(err)
		}
		s, err := o.Sum()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, "h1:") {
			t.Fatalf("sum %s", s)
		}
		return s
	}
	base := sumOf(minimal)
	if again := sumOf(minimal); again != base {
		t.Errorf("the same tree elsewhere: %s, then %s", base, again)
	}
	if s := sumOf(with(map[string]string{".git/HEAD": "ref: refs/heads/main\n"})); s != base {
		t.Error("version control metadata changes the sum")
	}
	for name, files := range map[string]map[string]string{
		"a template changed": with(map[string]string{"templates/NOTICE.tmpl": "[[.Answers.Name]] is an Acme service!\n"}),
		"a file added":       with(map[string]string{"LICENSE": "MIT\n"}),
		"a file renamed":     with(map[string]string{"templates/NOTICE.tmpl": "", "templates/NOTICE.md.tmpl": minimal["templates/NOTICE.tmpl"]}),
		"another version":    editDescription("version: v1.0.0", "version: v1.0.1"),
		"a go.mod":           with(map[string]string{"go.mod": "module example.com/acme/overlay\n"}),
	} {
		if sumOf(files) == base {
			t.Errorf("%s: the sum did not change", name)
		}
	}
}
