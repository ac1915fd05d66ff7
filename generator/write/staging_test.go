package write

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

func staging(t *testing.T, dir string) *Staging {
	t.Helper()
	s, err := NewStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A staged file replaces its target, keeps nothing staged after Close, and
// removing the last file of a directory removes the directory too.
func TestStagingCommitsAndRemoves(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "old", "deeper"), 0o755)
	os.WriteFile(filepath.Join(dir, "old", "deeper", "gone.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("old"), 0o600)
	s := staging(t, dir)
	if m, ok := s.ModeOf("a.txt"); !ok || m.Perm() != 0o600 {
		t.Errorf("ModeOf(a.txt) = %v, %v; want 0600", m, ok)
	}
	if _, ok := s.ModeOf("none.txt"); ok {
		t.Error("ModeOf a missing file says it exists")
	}
	for _, f := range files("a.txt", "new/b.txt") {
		if err := s.Put(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"a.txt", "new/b.txt"} {
		if err := s.Commit(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove("old/deeper/gone.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "a.txt\n" {
		t.Errorf("a.txt = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "new", "b.txt")); string(b) != "new/b.txt\n" {
		t.Errorf("new/b.txt = %q", b)
	}
	if got := entries(t, dir); len(got) != 2 || got[0] != "a.txt" || got[1] != "new" {
		t.Errorf("the tree holds %v; want a.txt and new (old emptied and removed, nothing staged left)", got)
	}
}

// No path leaves the tree, and no file is written through a symbolic link,
// even one that points inside the tree.
func TestStagingStaysInsideAndRefusesLinks(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "real"), 0o755)
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	os.Symlink("real", filepath.Join(dir, "in"))
	os.WriteFile(filepath.Join(outside, "victim.txt"), []byte("keep"), 0o644)
	s := staging(t, dir)
	for _, p := range []string{"../x.txt", "/abs.txt", `a\b.txt`, ""} {
		if err := s.Put(spec.File{Path: p, Mode: 0o644}); err == nil {
			t.Errorf("Put(%q) accepted a path that leaves the tree", p)
		}
		if err := s.Commit(p); err == nil {
			t.Errorf("Commit(%q) accepted a path that leaves the tree", p)
		}
		if err := s.Remove(p); err == nil {
			t.Errorf("Remove(%q) accepted a path that leaves the tree", p)
		}
	}
	for _, p := range []string{"out/x.txt", "in/x.txt"} {
		if err := s.Put(spec.File{Path: p, Mode: 0o644, Content: []byte("x")}); err != nil {
			t.Fatal(err) // staged inside the staging directory: no link on the way
		}
		if err := s.Commit(p); err == nil {
			t.Errorf("Commit(%q) wrote through a symbolic link", p)
		}
	}
	if err := s.Remove("out/victim.txt"); err == nil {
		t.Error("Remove reached through a link out of the tree")
	}
	if got := entries(t, outside); len(got) != 1 {
		t.Errorf("outside the tree: %v; want only victim.txt", got)
	}
	if got := entries(t, filepath.Join(dir, "real")); len(got) != 0 {
		t.Errorf("a file landed through the link inside the tree: %v", got)
	}
}
