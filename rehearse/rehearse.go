package rehearse

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// Run rehearses Options.Rollouts rolling updates of the service in dir
// under load. It returns an *InputError, before anything runs, when the
// options are bad, the repository cannot be rehearsed (its manifests break
// the timing model or run commands their image cannot, it does not build,
// or there is no Go toolchain to build it with), and an error when the
// rehearsal could not run to its end; a Result with failures is not an
// error.
func Run(ctx context.Context, dir string, o Options) (*Result, error) {
	w, lag, err := prepare(dir, o)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "zdgen-rehearse-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	binary, loader, err := build(ctx, w, tmp)
	if err != nil {
		return nil, err
	}
	r, err := setUp(w, binary, lag, o)
	if err != nil {
		return nil, err
	}
	defer r.tearDown()
	return r.run(ctx, loader)
}

// prepare is everything Run checks before it builds or runs anything:
// this platform, the options, the repository, the Go toolchain.
func prepare(dir string, o Options) (*Workload, time.Duration, error) {
	if !supported {
		return nil, 0, errors.New("rehearse needs Unix signals and process groups (Linux or macOS)")
	}
	if err := o.Validate(true); err != nil {
		return nil, 0, err
	}
	w, lag, err := LoadFor(dir, o)
	if err != nil {
		return nil, 0, err
	}
	if _, err := exec.LookPath("go"); err != nil {
		return nil, 0, inputErrorf("the rehearsal builds the service with the Go toolchain, and there is no go here: %w", err)
	}
	return w, lag, nil
}
