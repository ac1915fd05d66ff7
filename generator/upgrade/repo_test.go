package upgrade

import (
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
