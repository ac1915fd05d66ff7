package schema

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

const workflowPath = ".github/workflows/ci.yaml"

// shellcheck finds the shellcheck actionlint runs on each step's script.
// In CI (CI=true) its absence fails the test, elsewhere it skips it:
// .ci/run installs Debian's shellcheck.
func shellcheck(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("shellcheck")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("shellcheck is not installed; .ci/run must install it")
	}
	t.Skip("shellcheck is not installed")
	return ""
}

// actionlintErrors lints one workflow as GitHub would read it from the
// repository: actionlint parses it strictly (unknown keys, wrong types),
// type-checks each ${{ }} expression against its context, checks the
// inputs given to the actions it knows (actions/checkout, setup-go,
// golangci-lint-action among them), and runs shellcheck on every run:
// script.
func actionlintErrors(t *testing.T, shellcheckPath string, content []byte) []*actionlint.Error {
	t.Helper()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Shellcheck: shellcheckPath, Color: actionlint.ColorOptionKindNever})
	if err != nil {
		t.Fatal(err)
	}
	// The path names no file on this disk, so actionlint reads no
	// configuration of its own: the workflow alone is judged.
	errs, err := l.Lint(workflowPath, content, nil)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

func describe(errs []*actionlint.Error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}

// Every generated workflow passes actionlint with shellcheck, and none is
// generated with ci=none.
func TestWorkflowPassesActionlint(t *testing.T) {
	sc := shellcheck(t)
	for _, given := range append(answerSets, map[string]string{"name": "no-ci", "ci": "none"}) {
		files := render(t, given)
		wf, ok := files[workflowPath]
		if given["ci"] == "none" {
			if ok {
				t.Errorf("%v: %s generated", given, workflowPath)
			}
			continue
		}
		if !ok {
			t.Fatalf("%v: no %s", given, workflowPath)
		}
		if errs := actionlintErrors(t, sc, wf); len(errs) > 0 {
			t.Errorf("%v: actionlint:%s", given, describe(errs))
		}
	}
}

// The check can fail: each kind of mistake actionlint is here to catch is
// reported in a broken copy of the workflow, shellcheck's own included (so
// a linter that ran without it would fail this test).
func TestActionlintRejectsABrokenWorkflow(t *testing.T) {
	sc := shellcheck(t)
	wf := render(t, map[string]string{"name": "greeter"})[workflowPath]
	for _, c := range []struct {
		what, old, new string
		kind           string // actionlint's rule name for the error
	}{
		{"a misspelt key", "runs-on: ubuntu-24.04", "run-on: ubuntu-24.04", "syntax-check"},
		{"an input setup-go does not have", "go-version-file: go.mod", "go-version-files: go.mod", "action"},
		{"an expression on a context that does not exist", "${{ github.workflow }}", "${{ github.workflows }}", "expression"},
		{"a shell mistake", "run: make test", "run: cd $(mktemp -d) && make test", "shellcheck"},
	} {
		if !bytes.Contains(wf, []byte(c.old)) {
			t.Fatalf("%s: the workflow has no %q to break", c.what, c.old)
		}
		broken := bytes.Replace(wf, []byte(c.old), []byte(c.new), 1)
		errs := actionlintErrors(t, sc, broken)
		found := false
		for _, e := range errs {
			found = found || e.Kind == c.kind
		}
		if !found {
			t.Errorf("%s (%s): no %s error; got:%s", c.what, c.new, c.kind, describe(errs))
		}
	}
}

// The checkers run at the versions zdgen's own CI installs to lint the
// generated services, so a service that passes there passes in its own
// pipeline.
func TestWorkflowPinsTheCheckersZdgenTestsWith(t *testing.T) {
	ciRun, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	wf := render(t, map[string]string{"name": "greeter"})[workflowPath]
	pins := map[string]string{
		"GOSEC_VERSION":      "github.com/securego/gosec/v2/cmd/gosec",
		"KUBE_SCORE_VERSION": "github.com/zegl/kube-score/cmd/kube-score",
	}
	// golangci-lint is held to the same rule once .ci/run lints the
	// generated services with it.
	const golangciLint = "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
	if bytes.Contains(ciRun, []byte(golangciLint+"@")) {
		pins["GOLANGCI_LINT_VERSION"] = golangciLint
	}
	for env, module := range pins {
		pinned := regexp.MustCompile(`(?m)^  ` + env + `: (v\S+)$`).FindSubmatch(wf)
		if pinned == nil {
			t.Errorf("the workflow pins no %s", env)
			continue
		}
		if want := module + "@" + string(pinned[1]); !bytes.Contains(ciRun, []byte("go install "+want)) {
			t.Errorf("the workflow installs %s; .ci/run does not (go install %s)", want, want)
		}
	}
}
