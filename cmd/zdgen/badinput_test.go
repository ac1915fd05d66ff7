package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/upgrade"
	"github.com/zdgen/zdgen/generator/write"
	"github.com/zdgen/zdgen/rehearse"
	"github.com/zdgen/zdgen/workload"
)

// Every kind of bad input exits 2 through one predicate,
// spec.IsInputError, which knows no kind by name: a kind says so with a
// BadInput method, found however deep it is wrapped. A new kind is a row
// here, not a change of exitCode.
func TestBadInputKinds(t *testing.T) {
	for _, c := range []struct {
		kind string
		err  error
	}{
		{"a bad answer", &spec.InputError{Field: "replicas", Value: "0", Rule: "must be 1 to 100"}},
		{"a repository zdgen will not take", &workload.InputError{Err: errors.New("terminationGracePeriodSeconds 5s is too short")}},
		{"a rehearsal's bad options, toolchain or cluster", &rehearse.InputError{Err: errors.New("--rate 0")}},
		{"a lock upgrade cannot work from", &upgrade.LockError{Reason: "corrupt"}},
		{"a repository upgrade will not start in", &upgrade.RefusedError{Reason: "uncommitted changes"}},
		{"a generated repository as zdgen new's target", &write.TargetError{Dir: "orders", Err: write.ErrRepository}},
		{"a bad command line", usageError{errors.New("new takes at most one NAME")}},
		{"answers neither given nor asked", &spec.MissingError{Keys: []string{"name"}}},
		{"something given, marked where it is read", spec.BadInput(errors.New("--config answers.yaml: not a regular file (a FIFO)"))},
		{"an overlay that breaks the timing model", spec.BadInput(fmt.Errorf("with overlay acme@v1.4.0: %w", &workload.InputError{Err: errors.New("grace too short")}))},
	} {
		for _, err := range []error{c.err, fmt.Errorf("context: %w", c.err), errors.Join(errors.New("another"), c.err)} {
			if !spec.IsInputError(err) {
				t.Errorf("%s: spec.IsInputError(%q) = false", c.kind, err)
			}
			if got := exitCode(err); got != exitUsage {
				t.Errorf("%s: exitCode(%q) = %d, want %d", c.kind, err, got, exitUsage)
			}
		}
	}
	// Failures, whatever their words: cobra's usage errors are marked
	// where cobra makes them (TestUsageErrors), not read from their text.
	for _, err := range []error{
		errors.New("disk full"),
		errors.New(`unknown command "x" for "zdgen"`),
		errors.New("unknown shorthand flag: 'Z' in -Z"),
		&write.TargetError{Dir: "orders", Err: write.ErrTargetNotEmpty},
	} {
		if spec.IsInputError(err) {
			t.Errorf("spec.IsInputError(%q) = true, want a failure", err)
		}
		if got := exitCode(err); got != exitFailure {
			t.Errorf("exitCode(%q) = %d, want %d", err, got, exitFailure)
		}
	}
}
