// Package repotest makes zdgen repositories for tests: what zdgen
// generates for given answers (or composes of any release's templates and
// an overlay), written into a temporary directory or held in memory as
// `zdgen new` holds it before writing, and edits of their
// files that fail the test when the text to replace is not there. Like
// net/http/httptest it takes a testing.TB, and its name says it is for
// tests only.
package repotest

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
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
	return Compose(t, generator.Service{Answers: Answers(t, given)})
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

// Answers resolves given (key to value, as --config or the flags give
// them) to complete answers, the rest at their defaults.
func Answers(t testing.TB, given map[string]string) spec.Answers {
	t.Helper()
	a, err := spec.Resolve(given)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Compose composes the service s (any release, any overlay), lock included, failing t on an error.
func Compose(t testing.TB, s generator.Service) []spec.File {
	t.Helper()
	_, files, err := generator.Compose(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Map is files by path.
func Map(files []spec.File) map[string][]byte {
	m := make(map[string][]byte, len(files))
	for _, f := range files {
		m[f.Path] = f.Content
	}
	return m
}

// Write writes files into a new directory, named after the service,
// under t's temporary directory, and returns it.
func Write(t testing.TB, name string, files []spec.File) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := write.Write(context.Background(), dir, files, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Service composes the service s and writes it (Compose, then Write).
func Service(t testing.TB, s generator.Service) string {
	t.Helper()
	return Write(t, s.Answers.Name, Compose(t, s))
}

// Lock reads the lock among files.
func Lock(t testing.TB, files []spec.File) spec.Lock {
	t.Helper()
	for _, f := range files {
		if f.Path == spec.LockPath {
			l, err := spec.ParseLock(f.Content)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	}
	t.Fatalf("no %s among %d files", spec.LockPath, len(files))
	return spec.Lock{}
}
