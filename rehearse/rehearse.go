// Package rehearse runs a repository's service as processes, to prove
// that it deploys with zero downtime without a cluster: it runs the
// service as real processes on 127.0.0.1 and rolls them the way
// Kubernetes would, under load, behind a stand-in for the Service that
// lags like kube-proxy. What it runs is what the repository declares, as
// package workload reads and judges it; the rehearsal adds its options
// (Options: the load, the rollouts, the replicas and the lag) and reports
// what happened (Result, its HTML report). Package rehearse/kube runs the
// same rehearsal on a real cluster.
package rehearse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/zdgen/zdgen/workload"
)

// InputError is a rehearsal that cannot run for what it was given, found
// before anything ran: bad options, no Go toolchain, a service that does
// not build, or on a cluster (package rehearse/kube) a kubeconfig,
// permission, namespace or image it cannot work with. A repository the
// rehearsal refuses is a *workload.InputError. Both are bad input
// (spec.IsInputError): the command exits 2 on them.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }
func (*InputError) BadInput()       {}

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// Run rehearses Options.Rollouts rolling updates of the service in dir
// under load. It returns bad input (spec.IsInputError), before anything
// runs, when the options are bad, the repository cannot be rehearsed (a
// *workload.InputError: its manifests break the timing model or run
// commands their image cannot), it does not build, or there is no Go
// toolchain to build it with; and an error when the rehearsal could not
// run to its end. A Result with failures is not an error.
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
func prepare(dir string, o Options) (*workload.Workload, time.Duration, error) {
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
