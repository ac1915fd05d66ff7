package generator

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// golangciLint finds the golangci-lint that .ci/run installs, at the
// version it pins: another version may enable other checks, and the
// generated .golangci.yml is only promised for this one.
func golangciLint(t *testing.T) (path, version string) {
	t.Helper()
	ci, err := os.ReadFile(filepath.Join("..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`go install github\.com/golangci/golangci-lint/v2/cmd/golangci-lint@v(\S+)`).FindSubmatch(ci)
	if m == nil {
		t.Fatal(".ci/run no longer installs golangci-lint with go install …@vX.Y.Z")
	}
	version = string(m[1])
	path = requireTool(t, "golangci-lint")
	out, err := exec.Command(path, "version", "--short").Output()
	if err != nil {
		t.Fatalf("golangci-lint version: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != version {
		if os.Getenv("CI") != "" {
			t.Fatalf("golangci-lint is %s; .ci/run pins %s", got, version)
		}
		t.Skipf("golangci-lint is %s, not the %s .ci/run pins", got, version)
	}
	return path, version
}

// lintIssue is one finding of golangci-lint's JSON output.
type lintIssue struct {
	FromLinter string
	Text       string
	Pos        struct {
		Filename string
		Line     int
	}
}

// golangciRun runs golangci-lint as the generated Makefile's lint target
// does, and returns its exit code and findings.
func golangciRun(t *testing.T, lint, dir string) (int, []lintIssue) {
	t.Helper()
	cmd := exec.Command(lint, "run", "--output.json.path", "stdout", "--show-stats=false", "./...")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("golangci-lint run in %s: %v", dir, err)
	}
	var report struct{ Issues []lintIssue }
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("golangci-lint run in %s: exit %d, output %v:\n%s\n%s", dir, code, err, out, stderr.String())
	}
	return code, report.Issues
}

// Every dependency set (the only answers the Go templates branch on),
// half of them under another name and module path (which goimports'
// local prefix follows), passes the generated .golangci.yml as generated,
// and the file is valid against golangci-lint's own JSON schema.
func TestGolangciLint(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks generated modules")
	}
	lint, version := golangciLint(t)
	for i, kv := range moduleSets {
		if i%2 == 1 {
			kv = append(kv[:len(kv):len(kv)], "name=orders-api", "module=github.com/acme/orders-api")
		}
		_, dir := writeSet(t, kv...)
		makefile := runIn(t, dir, "cat", "Makefile")
		if !strings.Contains(makefile, "\tgolangci-lint run ./...\n") || !strings.Contains(makefile, "golangci-lint@v"+version) {
			t.Fatalf("%v: the Makefile's lint target no longer runs golangci-lint %s as this test does", kv, version)
		}
		runIn(t, dir, lint, "config", "verify")
		code, issues := golangciRun(t, lint, dir)
		for _, is := range issues {
			t.Errorf("%v: %s:%d: %s (%s)", kv, is.Pos.Filename, is.Pos.Line, is.Text, is.FromLinter)
		}
		if code != 0 && len(issues) == 0 {
			t.Errorf("%v: golangci-lint exited %d with no finding", kv, code)
		}
	}
}

// The configuration finds what it promises to, so a clean run means
// something: an unchecked error, imports not grouped with the module's
// own last, and a //nolint without its reason, each fail the run; an
// unchecked error in protoc's output (api/) does not.
func TestGolangciLintFails(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks a generated module")
	}
	lint, _ := golangciLint(t)
	p, dir := writeSet(t, "protocol=grpc")
	planted := `package server

import (
	"` + p.Answers.Module + `/internal/config"
	"os"
)

// Planted is code a linter must object to.
func Planted() {
	os.Chdir("/")
	os.Chmod("/", 0) //nolint:errcheck
	_ = config.Defaults
}
`
	if err := os.WriteFile(filepath.Join(dir, "internal/server/planted.go"), []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, _ := filepath.Glob(filepath.Join(dir, "api/*/v1/*_grpc.pb.go"))
	if len(pb) != 1 {
		t.Fatalf("want one _grpc.pb.go in api/, have %v", pb)
	}
	f, err := os.OpenFile(pb[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The package already imports context; an unchecked error needs no more.
	_, err = f.WriteString("\nfunc Planted(cc grpc.ClientConnInterface) { cc.Invoke(context.Background(), \"\", nil, nil) }\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	runIn(t, dir, "go", "build", "./...") // the planted code compiles: only the linters object

	code, issues := golangciRun(t, lint, dir)
	if code == 0 {
		t.Error("golangci-lint exited 0 on planted findings")
	}
	found := map[string]bool{}
	for _, is := range issues {
		switch {
		case strings.HasPrefix(is.Pos.Filename, "api/"):
			t.Errorf("protoc's output was linted: %s:%d: %s (%s)", is.Pos.Filename, is.Pos.Line, is.Text, is.FromLinter)
		case is.Pos.Filename == "internal/server/planted.go":
			// nolintlint must object to the missing reason, not to an
			// unused directive.
			found[is.FromLinter] = is.FromLinter != "nolintlint" || strings.Contains(is.Text, "explanation")
		default:
			t.Errorf("a finding outside the planted file: %s:%d: %s (%s)", is.Pos.Filename, is.Pos.Line, is.Text, is.FromLinter)
		}
	}
	for _, linter := range []string{"errcheck", "goimports", "nolintlint"} {
		if !found[linter] {
			t.Errorf("%s found nothing in the planted file; findings: %+v", linter, issues)
		}
	}
}
