// Package repotest makes zdgen repositories for tests: what zdgen
// generates for given answers, written into a temporary directory or held
// in memory as `zdgen new` holds it before writing, and edits of their
// files that fail the test when the text to replace is not there. Like
// net/http/httptest it takes a testing.TB, and its name says it is for
// tests only.
package repotest

import (
	"context"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/write"
)

// Files is what zdgen generates for the given answers, the rest their
// defaults.
func Files(t testing.TB, given map[string]string) []spec.File {
	t.Helper()
	a, err := spec.Resolve(given)
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := generator.Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Dir writes what zdgen generates for the given answers into a temporary
// directory, which it returns.
func Dir(t testing.TB, given map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := write.Write(context.Background(), dir, Files(t, given), false); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Tree is what zdgen generates for the given answers, held in memory.
func Tree(t testing.TB, given map[string]string) fstest.MapFS {
	t.Helper()
	tree := fstest.MapFS{}
	for _, f := range Files(t, given) {
		tree[f.Path] = &fstest.MapFile{Data: f.Content, Mode: fs.FileMode(f.Mode)}
	}
	return tree
}

// Replace replaces old with new in the file at path, once; the test fails
// if old is not there.
func Replace(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
