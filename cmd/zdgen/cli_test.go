package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator"
)

// zdgen runs the command line in-process with no terminal, as a pipeline
// would, and returns the exit code and what it printed.
func zdgen(t *testing.T, p Prompter, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, prompter: p})
	return code, out.String(), errOut.String()
}

// scripted answers prompts from a script, keyed by field, like a person at
// a terminal would: it checks each answer as survey does and records what
// it was asked. An answer "^C" is Ctrl-C.
type scripted struct {
	answers  map[string][]string // field -> answers, tried in order
	asked    []string
	defaults map[string]string
	rejected map[string]string // field -> the error a rejected answer got
}

func (s *scripted) Ask(f generator.Field, def string, check func(string) error) (string, error) {
	s.asked = append(s.asked, f.Key)
	s.defaults[f.Key] = def
	tries := s.answers[f.Key]
	if len(tries) == 0 {
		tries = []string{def} // Enter: accept the default
	}
	for _, a := range tries {
		if a == "^C" {
			return "", errInterrupted
		}
		if err := check(a); err != nil {
			s.rejected[f.Key] = err.Error()
			continue // survey asks again
		}
		return a, nil
	}
	return "", errInterrupted // the script ran out of good answers: give up like Ctrl-C
}

func newScript(answers map[string][]string) *scripted {
	return &scripted{answers: answers, defaults: map[string]string{}, rejected: map[string]string{}}
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	return err == nil
}

func lockOf(t *testing.T, dir string) generator.Lock {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, generator.LockPath))
	if err != nil {
		t.Fatal(err)
	}
	l, err := generator.ParseLock(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestYesWithoutTerminalWritesTheService(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := zdgen(t, nil, "new", "demo", "--yes", "--output", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, f := range []string{"go.mod", "Dockerfile", "deploy/k8s/deployment.yaml", ".zdgen.yaml", "cmd/demo/main.go", "cmd/loadtest/main.go"} {
		if !exists(t, filepath.Join(dir, f)) {
			t.Errorf("%s was not written", f)
		}
	}
	if !strings.Contains(out, "Wrote") {
		t.Errorf("no summary: %q", out)
	}
	if l := lockOf(t, dir); l.Answers != generator.Defaults("demo") {
		t.Errorf("--yes answers %+v, want the defaults", l.Answers)
	}
}

func TestMissingAnswersWithoutTerminalAreListed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, _, errOut := zdgen(t, nil, "new", "demo", "--replicas", "2", "--output", dir)
	if code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	for _, want := range []string{"not a terminal", "--protocol", "--base-image", "--yes"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error lacks %q: %s", want, errOut)
		}
	}
	if strings.Contains(errOut, "--replicas") {
		t.Errorf("a given flag is listed as missing: %s", errOut)
	}
	if exists(t, dir) {
		t.Error("something was written")
	}
	if code, _, errOut := zdgen(t, nil, "new", "--yes", "--output", dir); code != exitUsage || !strings.Contains(errOut, "NAME") {
		t.Errorf("no NAME: exit %d, %s", code, errOut)
	}
}

func TestConfigFileAndFlagsOverrideIt(t *testing.T) {
	tmp := t.TempDir()
	config := filepath.Join(tmp, "answers.yaml")
	os.WriteFile(config, []byte("name: orders\nreplicas: 5\nbase-image: scratch\npropagation-lag: 20s\n"), 0o644)
	dir := filepath.Join(tmp, "out")
	code, _, errOut := zdgen(t, nil, "new", "--config", config, "--replicas", "7", "--yes", "--output", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	a := lockOf(t, dir).Answers
	if a.Name != "orders" || a.Replicas != 7 || a.BaseImage != "scratch" || a.PropagationLag.Seconds() != 20 {
		t.Errorf("answers %+v: want name and image from the file, replicas from the flag", a)
	}
	// A generated repository's .zdgen.yaml is an answers file too.
	again := filepath.Join(tmp, "again")
	if code, _, errOut := zdgen(t, nil, "new", "--config", filepath.Join(dir, ".zdgen.yaml"), "--yes", "--output", again); code != 0 {
		t.Fatalf("from .zdgen.yaml: exit %d: %s", code, errOut)
	}
	if lockOf(t, again).Answers != a {
		t.Error("regenerating from .zdgen.yaml changed the answers")
	}
}

func TestBadConfigFiles(t *testing.T) {
	tmp := t.TempDir()
	for name, content := range map[string]string{
		"unknown-key": "name: x\nreplica: 3\n",
		"not-yaml":    "name: [unclosed\n",
		"nested":      "name: x\nreplicas: {a: 1}\n",
	} {
		config := filepath.Join(tmp, name+".yaml")
		os.WriteFile(config, []byte(content), 0o644)
		dir := filepath.Join(tmp, name)
		code, _, errOut := zdgen(t, nil, "new", "--config", config, "--yes", "--output", dir)
		if code != exitUsage || exists(t, dir) {
			t.Errorf("%s: exit %d (want 2), written %v: %s", name, code, exists(t, dir), errOut)
		}
		if name == "unknown-key" && !strings.Contains(errOut, "replica") {
			t.Errorf("the unknown key is not named: %s", errOut)
		}
	}
	if code, _, _ := zdgen(t, nil, "new", "x", "--yes", "--config", filepath.Join(tmp, "absent.yaml")); code != exitUsage {
		t.Errorf("missing config file: exit %d, want 2", code)
	}
}

// Each bad answer exits 2 naming its field, and writes nothing.
func TestBadFlagValues(t *testing.T) {
	for _, c := range []struct {
		args  []string
		field string
	}{
		{[]string{"--replicas", "0"}, "replicas"},
		{[]string{"--replicas", "101"}, "replicas"},
		{[]string{"--module", "not a module path!"}, "module"},
		{[]string{"--base-image", "Upper:case"}, "base-image"},
		{[]string{"--base-image", "nginx"}, "base-image"},
		{[]string{"--base-image", "nginx:latest"}, "base-image"},
		{[]string{"--k8s-version", "1.10"}, "k8s-version"},
		{[]string{"--k8s-version", "banana"}, "k8s-version"},
		{[]string{"--port", "80"}, "port"},
		{[]string{"--port", "9000", "--health-port", "9000"}, "health-port"},
		{[]string{"--propagation-lag", "1.5s"}, "propagation-lag"},
		{[]string{"--grace-period", "10s"}, "grace-period"},
		{[]string{"--prestop", "sleep", "--k8s-version", "1.29"}, "prestop"},
		{[]string{"--protocol", "ftp"}, "protocol"},
		{[]string{"--max-request", "forever"}, "max-request"},
	} {
		dir := filepath.Join(t.TempDir(), "svc")
		code, _, errOut := zdgen(t, nil, append([]string{"new", "svc", "--yes", "--output", dir}, c.args...)...)
		if code != exitUsage || !strings.HasPrefix(errOut, "zdgen: "+c.field+":") {
			t.Errorf("%v: exit %d, %q; want 2 and an error naming %s", c.args, code, errOut, c.field)
		}
		if exists(t, dir) || len(entries(t, filepath.Dir(dir))) != 0 {
			t.Errorf("%v: something was written", c.args)
		}
	}
	for _, name := range []string{"Bad_Name", "../x", "a/b"} {
		dir := filepath.Join(t.TempDir(), "svc")
		if code, _, errOut := zdgen(t, nil, "new", name, "--yes", "--output", dir); code != exitUsage || !strings.Contains(errOut, "name:") || exists(t, dir) {
			t.Errorf("name %q: exit %d, %q", name, code, errOut)
		}
	}
}

func entries(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestNonEmptyTargetIsRefusedUnlessForced(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "notes.txt")
	os.WriteFile(mine, []byte("mine"), 0o644)
	if code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--output", dir); code != exitFailure || !strings.Contains(errOut, "--force") {
		t.Errorf("non-empty target: exit %d, %q; want 1 and a hint about --force", code, errOut)
	}
	if exists(t, filepath.Join(dir, "go.mod")) {
		t.Error("wrote into a non-empty directory")
	}
	if code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--output", dir, "--force"); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(mine); string(b) != "mine" || !exists(t, filepath.Join(dir, "go.mod")) {
		t.Error("--force lost the user's file or wrote nothing")
	}
}

func TestDryRunAndJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "svc")
	code, out, errOut := zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--output", dir)
	if code != 0 || exists(t, dir) || !strings.Contains(out, "Would write") || !strings.Contains(out, "deploy/k8s/deployment.yaml") {
		t.Errorf("--dry-run: exit %d, written %v:\n%s%s", code, exists(t, dir), out, errOut)
	}
	code, out, _ = zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--json", "--protocol", "grpc", "--output", dir)
	var summary struct {
		DryRun bool `json:"dryRun"`
		Plan   struct {
			Answers generator.Answers   `json:"answers"`
			Grace   int                 `json:"terminationGracePeriodSeconds"`
			Derived []generator.Derived `json:"derived"`
		} `json:"plan"`
		Files []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &summary); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %v:\n%s", code, err, out)
	}
	paths := map[string]bool{}
	for _, f := range summary.Files {
		paths[f.Path] = len(f.SHA256) == 64
	}
	if !summary.DryRun || summary.Plan.Grace != 22 || summary.Plan.Answers.Protocol != "grpc" || len(summary.Plan.Derived) == 0 ||
		!paths[".zdgen.yaml"] || !paths["api/svc/v1/svc.pb.go"] || exists(t, dir) {
		t.Errorf("--json summary %+v", summary)
	}
}

// On a terminal: every answer is asked in order with its default; Enter
// accepts it; a bad answer is asked again.
func TestPromptsAskEachAnswer(t *testing.T) {
	p := newScript(map[string][]string{
		"replicas":     {"0", "4"},
		"grace-period": {"5s"}, // never asked: an override, not a question
	})
	dir := filepath.Join(t.TempDir(), "svc")
	code, _, errOut := zdgen(t, p, "new", "svc", "--output", dir, "--base-image", "alpine")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := []string{"protocol", "replicas", "module", "k8s-version", "port", "health-port", "propagation-lag", "max-request", "startup-time", "prestop", "drain-delay"}
	if strings.Join(p.asked, " ") != strings.Join(want, " ") {
		t.Errorf("asked %v, want %v (name and base-image were given)", p.asked, want)
	}
	if p.defaults["module"] != "example.com/svc" || p.defaults["replicas"] != "3" {
		t.Errorf("defaults offered: %v", p.defaults)
	}
	if !strings.Contains(p.rejected["replicas"], "1 to 100") {
		t.Errorf("replicas 0 was not rejected with its rule: %q", p.rejected["replicas"])
	}
	if a := lockOf(t, dir).Answers; a.Replicas != 4 || a.BaseImage != "alpine" {
		t.Errorf("answers %+v", a)
	}
}

// A prompt that breaks a timing rule is asked again at once, naming the
// rule, rather than failing after the last question.
func TestPromptsReaskABrokenRule(t *testing.T) {
	p := newScript(map[string][]string{
		"k8s-version": {"1.29"},
		"prestop":     {"sleep", "exec"},
	})
	dir := filepath.Join(t.TempDir(), "svc")
	if code, _, errOut := zdgen(t, p, "new", "svc", "--output", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(p.rejected["prestop"], "1.30") {
		t.Errorf("prestop sleep on 1.29 was not rejected with its rule: %q", p.rejected["prestop"])
	}
	if a := lockOf(t, dir).Answers; a.PreStop != "exec" {
		t.Errorf("prestop %q, want exec", a.PreStop)
	}
}

func TestCtrlCWritesNothingAndExits130(t *testing.T) {
	p := newScript(map[string][]string{"replicas": {"^C"}})
	parent := t.TempDir()
	code, _, errOut := zdgen(t, p, "new", "svc", "--output", filepath.Join(parent, "svc"))
	if code != exitInterrupted || !strings.Contains(errOut, "nothing was written") {
		t.Errorf("exit %d, %q; want 130", code, errOut)
	}
	if len(entries(t, parent)) != 0 {
		t.Error("something was written")
	}
}

func TestVersionCompletionAndHelp(t *testing.T) {
	if code, out, _ := zdgen(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "zdgen ") || !strings.Contains(out, generator.Version) {
		t.Errorf("version: exit %d, %q", code, out)
	}
	if code, out, _ := zdgen(t, nil, "completion", "bash"); code != 0 || !strings.Contains(out, "zdgen") {
		t.Errorf("completion bash: exit %d", code)
	}
	for _, cmd := range []string{"new", "version"} {
		if code, out, _ := zdgen(t, nil, cmd, "--help"); code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help: exit %d, no examples:\n%s", cmd, code, out)
		}
	}
	if code, _, _ := zdgen(t, nil, "bogus"); code != exitUsage {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, _, _ := zdgen(t, nil, "new", "x", "--bogus"); code != exitUsage {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, _, _ := zdgen(t, nil, "new", "a", "b"); code != exitUsage {
		t.Errorf("two names: exit %d, want 2", code)
	}
}

func names(es []os.DirEntry) []string {
	var ns []string
	for _, e := range es {
		ns = append(ns, e.Name())
	}
	return ns
}
