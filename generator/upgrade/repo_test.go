package upgrade

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

// A directory without a lock is refused (the command exits 2 and says to
// use zdgen new); a lock that does not parse is a LockError.
func TestReadLockRefusals(t *testing.T) {
	var refused *RefusedError
	if _, _, err := ReadLock(t.TempDir()); !errors.As(err, &refused) || !strings.Contains(err.Error(), "zdgen new") {
		t.Errorf("ReadLock of a plain directory: %v; want a RefusedError naming zdgen new", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, spec.LockPath), []byte("generator: [\n"), 0o644)
	var lockErr *LockError
	if _, _, err := ReadLock(dir); !errors.As(err, &lockErr) {
		t.Errorf("ReadLock of a corrupt lock: %v; want a LockError", err)
	}
}

// Conflict markers left by an earlier upgrade stop the next one before it
// is planned into them; the same repository without them plans.
func TestPlanRepoRefusesUnresolvedConflicts(t *testing.T) {
	a := spec.Defaults("shop")
	dir := writeOld(t, a)
	old, lb, err := ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PlanRepo(context.Background(), dir, old, lb, a, Overlays{}); err != nil {
		t.Fatalf("a clean repository: %v", err)
	}
	edit(t, dir, "deploy/k8s/deployment.yaml", "              memory: 128Mi\n", "<<<<<<< yours\n              memory: 256Mi\n=======\n              memory: 128Mi\n>>>>>>> zdgen\n")
	var refused *RefusedError
	if _, err := PlanRepo(context.Background(), dir, old, lb, a, Overlays{}); !errors.As(err, &refused) || !strings.Contains(err.Error(), "deploy/k8s/deployment.yaml") {
		t.Errorf("PlanRepo over conflict markers: %v; want a RefusedError naming the file", err)
	}
}

// linkDeploy moves dir's deploy directory elsewhere and links it back,
// returning where it went.
func linkDeploy(t *testing.T, dir string) string {
	t.Helper()
	elsewhere := filepath.Join(t.TempDir(), "deploy")
	if err := os.Rename(filepath.Join(dir, "deploy"), elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, "deploy")); err != nil {
		t.Fatal(err)
	}
	return elsewhere
}

// A generated directory that is a symbolic link is skipped file by file,
// like a linked file: the plan neither reads nor writes below it, says
// which link, and the rest of the upgrade applies without meeting it.
func TestPlanRepoSkipsFilesBelowALink(t *testing.T) {
	a := spec.Defaults("shop")
	dir := writeOld(t, a)
	elsewhere := linkDeploy(t, dir)
	dep := filepath.Join(elsewhere, "k8s", "deployment.yaml")
	before, _ := os.ReadFile(dep)
	old, lb, err := ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	a.Replicas = 5
	u, err := PlanRepo(context.Background(), dir, old, lb, a, Overlays{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range u.Changes {
		if !strings.HasPrefix(c.Path, "deploy/") {
			continue
		}
		n++
		if c.Outcome != Skipped || c.Writes() || c.SkippedAt == nil || c.SkippedAt.At != "deploy" || c.SkippedAt.What != "a symbolic link" {
			t.Errorf("%s: %s, skipped at %+v; want skipped at the link deploy", c.Path, c.Outcome, c.SkippedAt)
		}
	}
	if n == 0 {
		t.Fatal("no file below deploy/ in the plan")
	}
	if err := Apply(context.Background(), dir, u); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if after, _ := os.ReadFile(dep); !bytes.Equal(after, before) {
		t.Error("a file behind the link changed")
	}
	if l, _, err := ReadLock(dir); err != nil || l.Answers.Replicas != 5 {
		t.Errorf("the rest of the upgrade was not written: %v", err)
	}
}

// Apply checks every target before the first rename: a directory that
// became a symbolic link after the plan read through it stops the
// upgrade with nothing renamed (README.md, renamed before deploy/ in path
// order, is as it was), naming the link, and no staging is left.
func TestApplyChecksEveryTargetFirst(t *testing.T) {
	a := spec.Defaults("shop")
	dir := writeOld(t, a)
	a.Replicas = 5
	u := planDir(t, dir, a)
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	lock, _ := os.ReadFile(filepath.Join(dir, spec.LockPath))
	elsewhere := linkDeploy(t, dir)
	dep, _ := os.ReadFile(filepath.Join(elsewhere, "k8s", "deployment.yaml"))
	err := Apply(context.Background(), dir, u)
	if err == nil || !strings.Contains(err.Error(), "deploy is a symbolic link") {
		t.Fatalf("Apply = %v, want it refused naming the link", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "README.md")); !bytes.Equal(b, readme) {
		t.Error("README.md was rewritten by a refused upgrade")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, spec.LockPath)); !bytes.Equal(b, lock) {
		t.Error("the lock was rewritten by a refused upgrade")
	}
	if b, _ := os.ReadFile(filepath.Join(elsewhere, "k8s", "deployment.yaml")); !bytes.Equal(b, dep) {
		t.Error("a file behind the link changed")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".zdgen-upgrade-*")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}
