package rehearse

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/zdgen/zdgen/workload"
)

// build compiles the service and its load-test client, as the repository's
// Makefile does. A build that fails is an input error.
func build(ctx context.Context, w *workload.Workload, dir string) (binary, loader string, err error) {
	binary = filepath.Join(dir, w.Answers.Name)
	loader = filepath.Join(dir, "loadtest")
	for _, b := range []struct{ out, pkg string }{{binary, "./cmd/" + w.Answers.Name}, {loader, "./cmd/loadtest"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		cmd.Dir = w.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			if ctx.Err() != nil {
				return "", "", fmt.Errorf("go build %s: %w", b.pkg, ctx.Err())
			}
			// The repository does not build: nothing was rehearsed.
			return "", "", inputErrorf("go build %s: %w\n%s", b.pkg, err, bytes.TrimSpace(out))
		}
	}
	return binary, loader, nil
}
