package generator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func files(paths ...string) []File {
	var fs []File
	for _, p := range paths {
		fs = append(fs, File{Path: p, Mode: 0o644, Content: []byte(p + "\n")})
	}
	return fs
}

// entries lists what a directory holds, to check nothing was left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteNewDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "svc")
	if err := Write(context.Background(), dir, files("a.txt", "deep/er/b.txt"), false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "deep/er/b.txt"))
	if err != nil || string(b) != "deep/er/b.txt\n" {
		t.Fatalf("content %q, %v", b, err)
	}
	if got := entries(t, parent); len(got) != 1 || got[0] != "svc" {
		t.Errorf("parent holds %v; want only svc (no staging left)", got)
	}
}

func TestWriteIntoEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := Write(context.Background(), dir, files("a.txt"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.txt")); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRefusesNonEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("precious"), 0o644)
	err := Write(context.Background(), dir, files("mine.txt"), false)
	if !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("got %v, want ErrTargetNotEmpty", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "mine.txt")); string(b) != "precious" {
		t.Error("the user's file was overwritten")
	}
}

func TestWriteForceKeepsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("precious"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("old"), 0o644)
	if err := Write(context.Background(), dir, files("a.txt", "sub/b.txt"), true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "mine.txt")); string(b) != "precious" {
		t.Error("--force touched a file zdgen does not generate")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "a.txt\n" {
		t.Error("--force did not replace zdgen's file")
	}
	if got := entries(t, filepath.Dir(dir)); len(got) != 1 {
		t.Errorf("staging left behind: %v", got)
	}
}

// A failure part-way through leaves neither a partial tree nor temp files.
func TestWriteFailureLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "svc")
	// "x" as a file and then as a directory: the second write fails after
	// the first succeeded.
	err := Write(context.Background(), dir, files("a.txt", "x", "x/y.txt"), false)
	if err == nil {
		t.Fatal("want a write error")
	}
	if got := entries(t, parent); len(got) != 0 {
		t.Errorf("after a failed write the parent holds %v", got)
	}
}

func TestWriteInterruptedLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Write(ctx, filepath.Join(parent, "svc"), files("a.txt"), false); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if got := entries(t, parent); len(got) != 0 {
		t.Errorf("after an interrupted write the parent holds %v", got)
	}
}

func TestWriteStaysInsideTarget(t *testing.T) {
	parent := t.TempDir()
	for _, bad := range []string{"../escape.txt", "/etc/passwd", "a/../../escape.txt", `a\b`} {
		if err := Write(context.Background(), filepath.Join(parent, "svc"), files("ok.txt", bad), false); err == nil {
			t.Errorf("%q: written", bad)
		}
	}
	if got := entries(t, parent); len(got) != 0 {
		t.Errorf("parent holds %v", got)
	}
}

func TestWriteDoesNotFollowSymlinks(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keep.txt"), nil, 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "deploy")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := Write(context.Background(), dir, files("deploy/x.yaml"), true); err == nil {
		t.Error("wrote through a symlinked directory")
	}
	if got := entries(t, outside); len(got) != 0 {
		t.Errorf("a file landed outside the target: %v", got)
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(outside, link)
	if err := Write(context.Background(), link, files("a.txt"), true); err == nil {
		t.Error("wrote into a target that is a symlink")
	}
}

// cancelAfter is a context that is cancelled after its Err has been asked
// n times: Ctrl-C arriving part-way through a write.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

func TestWriteInterruptedMidwayLeavesNothing(t *testing.T) {
	for n := 1; n <= 3; n++ {
		parent := t.TempDir()
		ctx := &cancelAfter{Context: context.Background(), n: n}
		err := Write(ctx, filepath.Join(parent, "svc"), files("a.txt", "b/c.txt", "d.txt"), false)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled after %d files: got %v", n, err)
		}
		if got := entries(t, parent); len(got) != 0 {
			t.Errorf("cancelled after %d files, the parent holds %v", n, got)
		}
	}
}
