package write

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

func files(paths ...string) []spec.File {
	var fs []spec.File
	for _, p := range paths {
		fs = append(fs, spec.File{Path: p, Mode: 0o644, Content: []byte(p + "\n")})
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

// same reports whether dir is still the directory before was: the same
// inode on the same device, not a new one put in its place.
func same(t *testing.T, before os.FileInfo, dir string) bool {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(before, fi)
}

func stat(t *testing.T, dir string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// An existing empty directory (a CI workspace, a bind mount, the shell's
// working directory) is written into, not replaced: it keeps its inode and
// mode.
func TestWriteKeepsAnExistingEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	before := stat(t, dir)
	if err := Write(context.Background(), dir, files("a.txt", "deep/b.txt"), false); err != nil {
		t.Fatal(err)
	}
	if !same(t, before, dir) {
		t.Error("the directory was replaced, not written into")
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o750 {
		t.Errorf("mode %v, want 0750 kept", fi.Mode().Perm())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "deep/b.txt")); err != nil || string(b) != "deep/b.txt\n" {
		t.Errorf("content %q, %v", b, err)
	}
	if got := entries(t, dir); len(got) != 2 {
		t.Errorf("dir holds %v; want a.txt and deep (no staging left)", got)
	}
}

// --output . from inside an empty directory.
func TestWriteIntoTheWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	before := stat(t, ".")
	if err := Write(context.Background(), ".", files("a.txt"), false); err != nil {
		t.Fatal(err)
	}
	if !same(t, before, ".") || !same(t, before, dir) {
		t.Error("the working directory was replaced")
	}
	if _, err := os.Stat("a.txt"); err != nil {
		t.Error(err)
	}
}

// A failure part-way through moving files into an existing directory
// removes what was added and puts back what was replaced.
func TestWriteFailureInAnExistingDirectoryRollsBack(t *testing.T) {
	defer func() { writeHook = nil }()
	for _, force := range []bool{false, true} {
		for n := 0; n < 4; n++ {
			dir := t.TempDir()
			before := stat(t, dir)
			if force {
				os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("precious"), 0o644)
				os.Mkdir(filepath.Join(dir, "b"), 0o755)
				os.WriteFile(filepath.Join(dir, "b", "c.txt"), []byte("old"), 0o600)
			}
			boom := errors.New("injected")
			writeHook = func(i int) error {
				if i == n {
					return boom
				}
				return nil
			}
			err := Write(context.Background(), dir, files("a.txt", "b/c.txt", "d/e/f.txt", "g.txt"), force)
			if !errors.Is(err, boom) {
				t.Fatalf("force=%v, failing at %d: got %v", force, n, err)
			}
			if !same(t, before, dir) {
				t.Error("the directory was replaced")
			}
			got := entries(t, dir)
			if !force {
				if len(got) != 0 {
					t.Errorf("failing at %d, an empty directory now holds %v", n, got)
				}
				continue
			}
			if len(got) != 2 {
				t.Errorf("force, failing at %d: the directory holds %v, want b and mine.txt", n, got)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "b", "c.txt"))
			fi, _ := os.Stat(filepath.Join(dir, "b", "c.txt"))
			if string(b) != "old" || fi == nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("force, failing at %d: b/c.txt is %q, not restored", n, b)
			}
			if got := entries(t, filepath.Join(dir, "b")); len(got) != 1 {
				t.Errorf("force, failing at %d: b holds %v", n, got)
			}
		}
	}
}

// With --force, a target path that cannot take a file (a directory where a
// file goes, a file where a directory goes) is found before anything is
// moved, and the message does not suggest --force again.
func TestWriteForceChecksEveryPathFirst(t *testing.T) {
	for _, c := range []struct{ name, blocker, want string }{
		{"dir-where-a-file-goes", "Dockerfile/x", "Dockerfile"},
		{"file-where-a-dir-goes", "deploy", "deploy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, filepath.FromSlash(c.blocker))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte("mine"), 0o644)
			err := Write(context.Background(), dir, files(".dockerignore", ".gitignore", "Dockerfile", "deploy/k8s/a.yaml", "z.txt"), true)
			if err == nil {
				t.Fatal("written")
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "--force") {
				t.Errorf("error %q: want it to name %s and not suggest --force", err, c.want)
			}
			if got := entries(t, dir); len(got) != 1 {
				t.Errorf("the directory holds %v; want only %s", got, c.blocker)
			}
		})
	}
}

// A generated repository is not generated over, even with --force: that
// would reset its answers and overwrite its owner's edits.
func TestWriteRefusesAZdgenRepository(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, spec.LockPath), []byte("generator: zdgen\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "handlers.go"), []byte("mine"), 0o644)
	for _, force := range []bool{false, true} {
		err := Write(context.Background(), dir, files("handlers.go", spec.LockPath), force)
		if !errors.Is(err, ErrRepository) || !strings.Contains(err.Error(), "zdgen upgrade") || strings.Contains(err.Error(), "--force") {
			t.Errorf("force=%v: got %v; want ErrRepository pointing to zdgen upgrade", force, err)
		}
		if err := CheckTarget(dir, force); !errors.Is(err, ErrRepository) {
			t.Errorf("force=%v: CheckTarget (--dry-run) says %v", force, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "handlers.go")); string(b) != "mine" {
		t.Error("the owner's file was overwritten")
	}
}

// Only a refusal of a non-empty directory suggests --force.
func TestTargetErrorSuggestsForceOnlyWhenItHelps(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if err := CheckTarget(dir, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("non-empty without --force: %v; want a hint about --force", err)
	}
	file := filepath.Join(dir, "x")
	for _, force := range []bool{false, true} {
		if err := CheckTarget(file, force); err == nil || strings.Contains(err.Error(), "--force") {
			t.Errorf("a file as the target, force=%v: %v; want no hint about --force", force, err)
		}
	}
}

// A non-empty directory the user may not write in is refused without
// suggesting --force, which could not help.
func TestNotEmptyAndNotWritableDoesNotSuggestForce(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write anywhere")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	err := CheckTarget(dir, false)
	if err == nil || strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("got %v; want a refusal saying it is not writable, without --force", err)
	}
}
