package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// zdgen runs the command line in-process with no terminal (stdin is not a
// file), as a pipeline would, and returns the exit code and what it printed.
func zdgen(t *testing.T, p spec.Prompter, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return zdgenCtx(t, context.Background(), p, args...)
}

func zdgenCtx(t *testing.T, ctx context.Context, p spec.Prompter, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(ctx, args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, prompter: p})
	return code, out.String(), errOut.String()
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Lstat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func entries(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func names(es []os.DirEntry) []string {
	var ns []string
	for _, e := range es {
		ns = append(ns, e.Name())
	}
	return ns
}

// onlyEntries checks dir holds exactly want: in particular, no temporary
// directory left beside a target.
func onlyEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	got := names(entries(t, dir))
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

func lockOf(t *testing.T, dir string) spec.Lock {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, spec.LockPath))
	if err != nil {
		t.Fatal(err)
	}
	l, err := spec.ParseLock(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// filesIn lists the files below dir, slash-separated and sorted.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	var fs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			fs = append(fs, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(fs)
	return fs
}

// summary is what --json prints.
type summary struct {
	Output  string `json:"output"`
	DryRun  bool   `json:"dryRun"`
	Version string `json:"generatorVersion"`
	Plan    struct {
		Answers spec.Answers   `json:"answers"`
		Grace   int            `json:"terminationGracePeriodSeconds"`
		Derived []spec.Derived `json:"derived"`
	} `json:"plan"`
	Files []struct {
		Path   string `json:"path"`
		Bytes  int    `json:"bytes"`
		SHA256 string `json:"sha256"`
		Owner  string `json:"owner"`
	} `json:"files"`
}

func parseSummary(t *testing.T, out string) summary {
	t.Helper()
	var s summary
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("--json printed no valid summary: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("--json printed more than one JSON value:\n%s", out)
	}
	return s
}

func (s summary) paths() []string {
	var ps []string
	for _, f := range s.Files {
		ps = append(ps, f.Path)
	}
	sort.Strings(ps)
	return ps
}

// requiredFlags are the answers a pipeline must give without --yes.
func requiredFlags() []string {
	var fs []string
	defaults := spec.Defaults("svc")
	for _, f := range spec.Fields {
		if !f.Optional() && f.AppliesTo(&defaults) {
			fs = append(fs, flagName(f.Key))
		}
	}
	return fs
}

func TestYesWithoutTerminalWritesTheService(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "demo")
	code, out, errOut := zdgen(t, nil, "new", "demo", "--yes", "--output", dir)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, f := range []string{"go.mod", "Dockerfile", "deploy/k8s/deployment.yaml", ".zdgen.yaml", "cmd/demo/main.go", "cmd/loadtest/main.go", "README.md"} {
		if !exists(t, filepath.Join(dir, f)) {
			t.Errorf("%s was not written", f)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); !strings.HasPrefix(string(b), "module example.com/demo\n") {
		t.Errorf("go.mod does not declare the default module:\n%s", b)
	}
	l := lockOf(t, dir)
	if l.Answers != spec.Defaults("demo") {
		t.Errorf("--yes answers %+v, want the defaults", l.Answers)
	}
	if !strings.HasPrefix(out, fmt.Sprintf("Wrote %d files to %s:\n", len(filesIn(t, dir)), dir)) || !strings.Contains(out, "  go.mod (") || !strings.Contains(out, "Next: cd "+dir) {
		t.Errorf("summary:\n%s", out)
	}
	onlyEntries(t, parent, "demo")
}

// Without --output the service goes to ./NAME.
func TestOutputDefaultsToName(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	if code, _, errOut := zdgen(t, nil, "new", "orders", "--yes"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	onlyEntries(t, wd, "orders")
	if lockOf(t, filepath.Join(wd, "orders")).Answers.Name != "orders" {
		t.Error("wrong service in ./orders")
	}
}

// Without a terminal zdgen never asks: without --yes it fails at once,
// listing every missing answer, and writes nothing.
func TestMissingAnswersWithoutTerminal(t *testing.T) {
	t.Run("NothingGiven", func(t *testing.T) {
		parent := t.TempDir()
		code, out, errOut := zdgen(t, nil, "new", "--output", filepath.Join(parent, "svc"))
		if code != exitUsage || out != "" {
			t.Errorf("exit %d, want 2; stdout %q", code, out)
		}
		for _, want := range append(requiredFlags(), "not a terminal", "--yes") {
			if !strings.Contains(errOut, want) {
				t.Errorf("error lacks %q: %s", want, errOut)
			}
		}
		for _, optional := range []string{"--grace-period", "--shutdown-timeout", "--description"} {
			if strings.Contains(errOut, optional) {
				t.Errorf("optional %s is listed as missing: %s", optional, errOut)
			}
		}
		onlyEntries(t, parent)
	})
	t.Run("SomeGiven", func(t *testing.T) {
		parent := t.TempDir()
		code, _, errOut := zdgen(t, nil, "new", "svc", "--protocol", "grpc", "--port", "9000", "--output", filepath.Join(parent, "svc"))
		if code != exitUsage {
			t.Errorf("exit %d, want 2", code)
		}
		for _, want := range []string{"--replicas", "--base-image", "--health-port"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("error lacks %q: %s", want, errOut)
			}
		}
		for _, given := range []string{"NAME", "--protocol", "--port,"} {
			if strings.Contains(errOut, given) {
				t.Errorf("given %s is listed as missing: %s", given, errOut)
			}
		}
		onlyEntries(t, parent)
	})
	// Stdin and stdout real files but not terminals (a pipe, /dev/null):
	// the terminal check itself, not just the absence of a file, says no.
	t.Run("PipeStdin", func(t *testing.T) {
		parent := t.TempDir()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close() // never written: a prompt would wait for ever
		devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer devNull.Close()
		var errOut strings.Builder
		done := make(chan int, 1)
		go func() {
			done <- run(context.Background(), []string{"new", "svc", "--output", filepath.Join(parent, "svc")}, env{stdin: r, stdout: devNull, stderr: &errOut})
		}()
		select {
		case code := <-done:
			if code != exitUsage || !strings.Contains(errOut.String(), "--replicas") {
				t.Errorf("exit %d, want 2 listing the missing flags: %s", code, errOut.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("zdgen waited for an answer on a pipe")
		}
		onlyEntries(t, parent)
	})
	// Every required answer given: no --yes needed.
	t.Run("AllGiven", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		args := []string{"new", "svc", "--output", dir}
		for _, f := range spec.Fields {
			if f.Key != "name" && !f.Optional() {
				// --key=value: a boolean flag given alone means true, so
				// --metrics true would read "true" as a second NAME.
				args = append(args, "--"+f.Key+"="+f.Default(&spec.Answers{Name: "svc"}))
			}
		}
		args = append(args, "--replicas", "2")
		if code, _, errOut := zdgen(t, nil, args...); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if a := lockOf(t, dir).Answers; a.Replicas != 2 || a.Module != "example.com/svc" {
			t.Errorf("answers %+v", a)
		}
	})
	t.Run("YesWithoutName", func(t *testing.T) {
		wd := t.TempDir()
		t.Chdir(wd)
		if code, _, errOut := zdgen(t, nil, "new", "--yes"); code != exitUsage || !strings.Contains(errOut, "NAME") {
			t.Errorf("exit %d, want 2 asking for NAME: %s", code, errOut)
		}
		onlyEntries(t, wd)
	})
}

// --config answers, flags override them, the positional NAME overrides
// the file's name; a generated .zdgen.yaml is itself an answers file.
func TestConfigFileAndFlagsOverrideIt(t *testing.T) {
	tmp := t.TempDir()
	config := filepath.Join(tmp, "answers.yaml")
	writeFile(t, config, "name: orders\nreplicas: 5\nbase-image: scratch\npropagation-lag: 20s\nprotocol: grpc\nport: 9000\n")
	dir := filepath.Join(tmp, "out")
	code, out, errOut := zdgen(t, nil, "new", "--config", config, "--replicas", "7", "--port", "9100", "--yes", "--json", "--output", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	a := lockOf(t, dir).Answers
	want := spec.Defaults("orders")
	want.Replicas, want.Port = 7, 9100 // flags
	want.BaseImage, want.Protocol, want.PropagationLag = "scratch", "grpc", spec.Duration(20*time.Second)
	if a != want {
		t.Errorf(".zdgen.yaml answers\n %+v, want\n %+v", a, want)
	}
	if s := parseSummary(t, out); s.Plan.Answers != a {
		t.Errorf("--json answers %+v differ from .zdgen.yaml's %+v", s.Plan.Answers, a)
	}

	// The argument names the service even when the file does.
	renamed := filepath.Join(tmp, "renamed")
	if code, _, errOut := zdgen(t, nil, "new", "billing", "--config", config, "--yes", "--output", renamed); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if a := lockOf(t, renamed).Answers; a.Name != "billing" || a.Replicas != 5 {
		t.Errorf("answers %+v, want name billing and the file's 5 replicas", a)
	}

	// Regenerating from .zdgen.yaml, without --yes: every answer is there.
	again := filepath.Join(tmp, "again")
	if code, _, errOut := zdgen(t, nil, "new", "--config", filepath.Join(dir, ".zdgen.yaml"), "--output", again); code != exitOK {
		t.Fatalf("from .zdgen.yaml: exit %d: %s", code, errOut)
	}
	if lockOf(t, again).Answers != a {
		t.Error("regenerating from .zdgen.yaml changed the answers")
	}
	for _, f := range []string{"go.mod", "deploy/k8s/deployment.yaml", "cmd/orders/main.go"} {
		x, _ := os.ReadFile(filepath.Join(dir, f))
		y, _ := os.ReadFile(filepath.Join(again, f))
		if string(x) != string(y) || len(x) == 0 {
			t.Errorf("%s differs when regenerated from .zdgen.yaml", f)
		}
	}
}

// A bad answers file exits 2 naming the key (or the file) and writes
// nothing.
func TestBadConfigFiles(t *testing.T) {
	for _, c := range []struct {
		name, content string
		want          []string // in stderr
	}{
		{"unknown-key", "name: x\nreplica: 3\n", []string{"zdgen: --config ", ": replica: unknown answer"}},
		{"unknown-key-nested", "answers:\n  name: x\n  colour: blue\n", []string{": colour: unknown answer"}},
		{"not-yaml", "name: [unclosed\n", []string{"config: not a YAML map"}},
		{"a-list", "- name: x\n", []string{"config: not a YAML map"}},
		{"nested-value", "name: x\nreplicas: {a: 1}\n", []string{"replicas: want a single value"}},
		{"null-value", "name: x\nreplicas:\n", []string{"replicas: want a single value"}},
		{"bad-value", "name: x\nreplicas: 0\n", []string{"replicas: \"0\": must be 1 to 100"}},
		{"bad-name", "name: Bad_Name\n", []string{"name: \"Bad_Name\""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			config := filepath.Join(tmp, "answers.yaml")
			writeFile(t, config, c.content)
			code, out, errOut := zdgen(t, nil, "new", "--config", config, "--yes", "--output", filepath.Join(tmp, "out"))
			if code != exitUsage || out != "" {
				t.Errorf("exit %d (want 2), stdout %q", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			onlyEntries(t, tmp, "answers.yaml")
		})
	}
	t.Run("missing-file", func(t *testing.T) {
		tmp := t.TempDir()
		absent := filepath.Join(tmp, "absent.yaml")
		code, _, errOut := zdgen(t, nil, "new", "x", "--yes", "--config", absent, "--output", filepath.Join(tmp, "x"))
		if code != exitUsage || !strings.Contains(errOut, "--config") || !strings.Contains(errOut, absent) {
			t.Errorf("exit %d (want 2 naming the file): %s", code, errOut)
		}
		onlyEntries(t, tmp)
	})
}

// --config reads a regular file, or stdin for -, and no more than 1 MiB:
// not a device or a FIFO (which could be endless or never end), and
// Ctrl-C while it waits is still exit 130.
func TestConfigIsBounded(t *testing.T) {
	t.Run("device", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		tmp := t.TempDir()
		code, out, errOut := zdgen(t, nil, "new", "svc", "--yes", "--config", "/dev/zero", "--output", filepath.Join(tmp, "svc"))
		if code != exitUsage || !strings.Contains(errOut, "/dev/zero") || !strings.Contains(errOut, "not a regular file") || out != "" {
			t.Errorf("exit %d, %q; want 2: not a regular file", code, errOut)
		}
		onlyEntries(t, tmp)
	})
	t.Run("fifo", func(t *testing.T) {
		tmp := t.TempDir()
		fifo := filepath.Join(tmp, "answers.yaml")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip("no FIFOs here:", err)
		}
		code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--config", fifo, "--output", filepath.Join(tmp, "svc"))
		if code != exitUsage || !strings.Contains(errOut, "not a regular file") {
			t.Errorf("exit %d, %q; want 2: not a regular file", code, errOut)
		}
		onlyEntries(t, tmp, "answers.yaml")
	})
	t.Run("too-large", func(t *testing.T) {
		tmp := t.TempDir()
		config := filepath.Join(tmp, "answers.yaml")
		writeFile(t, config, "name: svc\n"+strings.Repeat("# padding\n", 110_000))
		code, _, errOut := zdgen(t, nil, "new", "--yes", "--config", config, "--output", filepath.Join(tmp, "svc"))
		if code != exitUsage || !strings.Contains(errOut, config) || !strings.Contains(errOut, "1 MiB") {
			t.Errorf("exit %d, %q; want 2 naming the file and the 1 MiB limit", code, errOut)
		}
		onlyEntries(t, tmp, "answers.yaml")
	})
	t.Run("stdin", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		var out, errOut strings.Builder
		code := run(context.Background(), []string{"new", "--yes", "--config", "-", "--output", dir},
			env{stdin: strings.NewReader("name: fromstdin\nreplicas: 4\n"), stdout: &out, stderr: &errOut})
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		if a := lockOf(t, dir).Answers; a.Name != "fromstdin" || a.Replicas != 4 {
			t.Errorf("answers %+v; want those read from stdin", a)
		}
	})
	t.Run("stdin-too-large", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		var out, errOut strings.Builder
		endless := io.MultiReader(strings.NewReader("name: svc\n"), strings.NewReader(strings.Repeat("#", 2<<20)))
		code := run(context.Background(), []string{"new", "--yes", "--config", "-", "--output", dir},
			env{stdin: endless, stdout: &out, stderr: &errOut})
		if code != exitUsage || !strings.Contains(errOut.String(), "1 MiB") {
			t.Errorf("exit %d, %q; want 2 naming the 1 MiB limit", code, errOut.String())
		}
	})
	t.Run("interrupted-while-reading", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		never, w := io.Pipe() // stdin that never ends
		defer w.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out, errOut strings.Builder
		code := run(ctx, []string{"new", "--yes", "--config", "-", "--output", dir},
			env{stdin: never, stdout: &out, stderr: &errOut})
		if code != exitInterrupted {
			t.Errorf("exit %d, %q; want 130", code, errOut.String())
		}
		if exists(t, dir) {
			t.Error("written")
		}
	})
}

// Each bad answer exits 2 with an error that names its field and the rule,
// and writes nothing: no output directory, no temporary one beside it.
func TestBadAnswers(t *testing.T) {
	for _, c := range []struct {
		args  []string // after `new`
		field string
		rule  string
	}{
		{[]string{"svc", "--replicas", "0"}, "replicas", "must be 1 to 100"},
		{[]string{"svc", "--replicas", "101"}, "replicas", "must be 1 to 100"},
		{[]string{"svc", "--replicas", "three"}, "replicas", "whole number"},
		{[]string{"svc", "--autoscale", "3"}, "autoscale", "MIN-MAX"},
		{[]string{"svc", "--autoscale", "5-2"}, "autoscale", "MIN must not exceed MAX"},
		{[]string{"svc", "--autoscale", "0-3"}, "autoscale", "1 to 100"},
		{[]string{"svc", "--autoscale", "2-101"}, "autoscale", "1 to 100"},
		{[]string{"Bad_Name"}, "name", "DNS-1035"},
		{[]string{"../x"}, "name", "DNS-1035"},
		{[]string{"a/b"}, "name", "DNS-1035"},
		{[]string{"1svc"}, "name", "starting with a letter"},
		{[]string{"deploy"}, "name", "reserved"},
		{[]string{"svc", "--module", "not a module path!"}, "module", "not a valid Go module path"},
		{[]string{"svc", "--base-image", "UPPER:case"}, "base-image", "not a valid image reference"},
		{[]string{"svc", "--base-image", "nginx"}, "base-image", "needs a tag or digest"},
		{[]string{"svc", "--base-image", "nginx:latest"}, "base-image", "latest"},
		{[]string{"svc", "--k8s-version", "1.10"}, "k8s-version", "supports Kubernetes 1.23 to 1.37"},
		{[]string{"svc", "--k8s-version", "banana"}, "k8s-version", "want a Kubernetes version"},
		{[]string{"svc", "--port", "80"}, "port", "1024 to 65535"},
		{[]string{"svc", "--port", "9000", "--health-port", "9000"}, "health-port", "must differ from port"},
		{[]string{"svc", "--health-port", "8080"}, "health-port", "must differ from port"},
		{[]string{"svc", "--propagation-lag", "1.5s"}, "propagation-lag", "whole number of seconds"},
		{[]string{"svc", "--propagation-lag", "-1s"}, "propagation-lag", "must be 0s to 5m0s"},
		{[]string{"svc", "--max-request", "forever"}, "max-request", "want a duration"},
		{[]string{"svc", "--grace-period", "10s"}, "grace-period", "must be >= preStop"},
		{[]string{"svc", "--shutdown-timeout", "5s"}, "shutdown-timeout", "must be >= max-request"},
		{[]string{"svc", "--prestop", "sleep", "--k8s-version", "1.29"}, "prestop", "needs Kubernetes >= 1.30"},
		{[]string{"svc", "--prestop", "none", "--drain-delay", "1s"}, "drain-delay", "must cover the propagation lag"},
		{[]string{"svc", "--prestop", "later"}, "prestop", "must be auto, sleep, exec or none"},
		{[]string{"svc", "--protocol", "ftp"}, "protocol", "must be http or grpc"},
		{[]string{"svc", "--expose", "loadbalancer"}, "expose", "must be none, gateway or ingress"},
		{[]string{"v1"}, "name", "makes the default module path example.com/v1"},
		{[]string{"svc", "--description", "ok \u202e kO"}, "description", "bidirectional"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			parent := t.TempDir()
			args := append([]string{"new"}, c.args...)
			args = append(args, "--yes", "--output", filepath.Join(parent, "svc"))
			code, out, errOut := zdgen(t, nil, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.HasPrefix(errOut, "zdgen: "+c.field+": ") || !strings.Contains(errOut, c.rule) {
				t.Errorf("stderr %q: want it to name %s and the rule %q", errOut, c.field, c.rule)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			onlyEntries(t, parent)
		})
	}
}

func TestTargetDirectory(t *testing.T) {
	t.Run("NonEmptyRefused", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "svc")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "notes.txt"), "mine")
		code, out, errOut := zdgen(t, nil, "new", "svc", "--yes", "--output", dir)
		if code != exitFailure || !strings.Contains(errOut, "not empty") || !strings.Contains(errOut, "--force") || out != "" {
			t.Errorf("exit %d, %q; want 1 and a hint about --force", code, errOut)
		}
		onlyEntries(t, dir, "notes.txt")
		onlyEntries(t, parent, "svc")
	})
	t.Run("ForceKeepsTheUsersFiles", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "svc")
		if err := os.MkdirAll(filepath.Join(dir, "cmd", "svc"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "notes.txt"), "mine")
		writeFile(t, filepath.Join(dir, "cmd", "svc", "extra.go"), "package main\n")
		writeFile(t, filepath.Join(dir, "go.mod"), "stale")
		if code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--output", dir, "--force"); code != exitOK {
			t.Fatalf("--force: exit %d: %s", code, errOut)
		}
		for f, want := range map[string]string{"notes.txt": "mine", "cmd/svc/extra.go": "package main\n"} {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != want {
				t.Errorf("--force changed the user's %s: %q, %v", f, b, err)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); !strings.HasPrefix(string(b), "module example.com/svc") {
			t.Errorf("--force did not replace zdgen's go.mod: %q", b)
		}
		if !exists(t, filepath.Join(dir, "cmd", "svc", "main.go")) || !exists(t, filepath.Join(dir, ".zdgen.yaml")) {
			t.Error("--force wrote nothing")
		}
		onlyEntries(t, parent, "svc")
	})
	t.Run("EmptyDirectoryIsFine", func(t *testing.T) {
		dir := t.TempDir()
		if code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--output", dir); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !exists(t, filepath.Join(dir, "go.mod")) {
			t.Error("nothing written")
		}
	})
	t.Run("OutputDotInAnEmptyDirectory", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		before, _ := os.Stat(".")
		if code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--output", "."); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		after, _ := os.Stat(dir)
		if !os.SameFile(before, after) {
			t.Error("the working directory was replaced, not written into")
		}
		if !exists(t, "go.mod") || !exists(t, filepath.Join(dir, ".zdgen.yaml")) {
			t.Error("nothing written into the working directory")
		}
	})
	t.Run("ForceChecksEveryPathFirst", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "Dockerfile"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "Dockerfile", "x"), "mine")
		code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--output", dir, "--force")
		if code != exitFailure || !strings.Contains(errOut, "Dockerfile is a directory") || strings.Contains(errOut, "--force") {
			t.Errorf("exit %d, %q; want 1 naming Dockerfile, without suggesting --force", code, errOut)
		}
		onlyEntries(t, dir, "Dockerfile")
	})
	t.Run("ExistingRepositoryPointsToUpgrade", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		if code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--replicas", "5", "--output", dir); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		handlers := filepath.Join(dir, "internal", "server", "handlers.go")
		writeFile(t, handlers, "package server // the owner's routes\n")
		for _, extra := range [][]string{nil, {"--force"}, {"--force", "--dry-run"}} {
			args := append([]string{"new", "svc", "--yes", "--output", dir}, extra...)
			code, out, errOut := zdgen(t, nil, args...)
			if code != exitUsage || !strings.Contains(errOut, "zdgen upgrade") || strings.Contains(errOut, "pass --force") || out != "" {
				t.Errorf("%v: exit %d, %q; want 2 pointing to zdgen upgrade", extra, code, errOut)
			}
		}
		if b, _ := os.ReadFile(handlers); string(b) != "package server // the owner's routes\n" {
			t.Error("the owner's handlers.go was overwritten")
		}
		if lockOf(t, dir).Answers.Replicas != 5 {
			t.Error("the recorded answers were reset")
		}
	})
	t.Run("TargetIsAFile", func(t *testing.T) {
		parent := t.TempDir()
		file := filepath.Join(parent, "svc")
		writeFile(t, file, "mine")
		if code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--output", file, "--force"); code != exitFailure || !strings.Contains(errOut, "not a directory") {
			t.Errorf("exit %d, %q; want 1", code, errOut)
		}
		if b, _ := os.ReadFile(file); string(b) != "mine" {
			t.Error("the file was changed")
		}
		onlyEntries(t, parent, "svc")
	})
}

// --dry-run lists every file it would write, and writes nothing.
func TestDryRun(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "svc")
	code, out, errOut := zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--output", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	onlyEntries(t, parent)
	_, js, _ := zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--json", "--output", dir)
	s := parseSummary(t, js)
	if !strings.HasPrefix(out, fmt.Sprintf("Would write %d files to %s:\n", len(s.Files), dir)) || strings.Contains(out, "Next:") {
		t.Errorf("--dry-run summary:\n%s", out)
	}
	for _, f := range s.Files {
		if !strings.Contains(out, fmt.Sprintf("\n  %s (%d bytes)\n", f.Path, f.Bytes)) {
			t.Errorf("--dry-run does not list %s (%d bytes)", f.Path, f.Bytes)
		}
	}
	if !s.DryRun || s.Output != dir {
		t.Errorf("--json --dry-run: dryRun %v, output %q", s.DryRun, s.Output)
	}
	onlyEntries(t, parent)

	// It fails where the real run would: a non-empty target without --force.
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--output", full); code != exitFailure || !strings.Contains(errOut, "--force") {
		t.Errorf("--dry-run into a non-empty directory: exit %d, %q; want 1 naming --force", code, errOut)
	}
	if code, _, _ := zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--force", "--output", full); code != exitOK {
		t.Errorf("--dry-run --force: exit %d", code)
	}
}

var graceRE = regexp.MustCompile(`terminationGracePeriodSeconds: (\d+)`)

// --json describes exactly what was written: every file with its size and
// checksum, the answers, and the derived numbers.
func TestJSON(t *testing.T) {
	for _, protocol := range []string{"http", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "svc")
			code, out, errOut := zdgen(t, nil, "new", "svc", "--yes", "--json", "--protocol", protocol, "--propagation-lag", "12s", "--output", dir)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			s := parseSummary(t, out)
			l := lockOf(t, dir)
			if s.DryRun || s.Output != dir || s.Version != render.Version || s.Plan.Answers != l.Answers || s.Plan.Answers.Protocol != protocol {
				t.Errorf("summary %+v", s)
			}
			if len(s.Plan.Derived) == 0 {
				t.Error("no derived numbers")
			}
			deployment, err := os.ReadFile(filepath.Join(dir, "deploy/k8s/deployment.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			m := graceRE.FindSubmatch(deployment)
			if m == nil || string(m[1]) != strconv.Itoa(s.Plan.Grace) || s.Plan.Grace <= 12 {
				t.Errorf("plan terminationGracePeriodSeconds %d; the manifest says %q", s.Plan.Grace, m)
			}
			onDisk := filesIn(t, dir)
			if strings.Join(onDisk, " ") != strings.Join(s.paths(), " ") || !contains(s.paths(), ".zdgen.yaml") {
				t.Errorf("files listed %v, on disk %v", s.paths(), onDisk)
			}
			for _, f := range s.Files {
				b, _ := os.ReadFile(filepath.Join(dir, f.Path))
				sum := sha256.Sum256(b)
				if f.Path != spec.LockPath && (hex.EncodeToString(sum[:]) != f.SHA256 || len(b) != f.Bytes) {
					t.Errorf("%s: listed %d bytes %s, on disk %d bytes %x", f.Path, f.Bytes, f.SHA256, len(b), sum)
				}
				if f.Owner == "" {
					t.Errorf("%s: no owner", f.Path)
				}
			}
		})
	}
}

// A cancelled context (Ctrl-C or SIGTERM after the last answer) exits 130
// and leaves nothing behind.
func TestInterruptedBeforeWriting(t *testing.T) {
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, out, errOut := zdgenCtx(t, ctx, nil, "new", "svc", "--yes", "--output", filepath.Join(parent, "svc"))
	if code != exitInterrupted || !strings.Contains(errOut, "nothing was written") || out != "" {
		t.Errorf("exit %d, %q; want 130", code, errOut)
	}
	onlyEntries(t, parent)
}

// Unknown commands and flags, and other bad command lines, exit 2 and do
// nothing.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"},
		{"bogus", "svc"},
		{"--bogus"},
		{"new", "svc", "--yes", "--bogus"},
		{"new", "svc", "--yes", "-Z"},
		{"new", "svc", "--yes", "--replicas"},
		{"new", "svc", "--yes=maybe"},
		{"new", "a", "b", "--yes"},
		{"upgrade", "a", "b"},
		{"rehearse", "a", "b"},
		{"version", "extra"},
		{"version", "--bogus"},
		{"completion", "bogus"},
		{"completion", "bash", "extra"},
		{"completion", "bash", "--bogus"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			wd := t.TempDir()
			t.Chdir(wd)
			code, out, errOut := zdgen(t, nil, args...)
			if code != exitUsage || !strings.HasPrefix(errOut, "zdgen: ") {
				t.Errorf("exit %d, stderr %q; want 2 and an error", code, errOut)
			}
			if len(args) > 2 && args[2] == "b" && !strings.Contains(errOut, "takes at most one") {
				t.Errorf("stderr %q does not say the command takes at most one argument", errOut)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			onlyEntries(t, wd)
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := zdgen(t, nil, "version")
	if code != exitOK || out != fmt.Sprintf("zdgen dev (templates %s, commit none, built unknown)\n", render.Version) {
		t.Errorf("version: exit %d, %q", code, out)
	}
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "1.2.3", "abc1234", "2026-01-02"
	if _, out, _ := zdgen(t, nil, "version"); !strings.HasPrefix(out, "zdgen 1.2.3 ") || !strings.Contains(out, "abc1234") || !strings.Contains(out, "2026-01-02") {
		t.Errorf("stamped version: %q", out)
	}
}

func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash":       "__start_zdgen",
		"zsh":        "#compdef zdgen",
		"fish":       "complete -c zdgen",
		"powershell": "Register-ArgumentCompleter",
	} {
		code, out, errOut := zdgen(t, nil, "completion", shell)
		if code != exitOK || !strings.Contains(out, "zdgen") || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, %d bytes without %q; %s", shell, code, len(out), marker, errOut)
		}
	}
	// The script asks zdgen itself; flags with choices complete them.
	for flag, want := range map[string]string{"--protocol": "http\ngrpc\n", "--prestop": "auto\nsleep\nexec\nnone\n"} {
		code, out, _ := zdgen(t, nil, "__complete", "new", "svc", flag, "")
		if code != exitOK || !strings.HasPrefix(out, want) {
			t.Errorf("completing %s: exit %d, %q", flag, code, out)
		}
	}
	if _, out, _ := zdgen(t, nil, "__complete", ""); !strings.Contains(out, "new\t") || !strings.Contains(out, "version\t") {
		t.Errorf("completing commands: %q", out)
	}
}

// Every command's --help has an example.
func TestHelpHasExamples(t *testing.T) {
	var paths [][]string
	root := newRootCmd(env{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{}})
	var visit func(path []string, c *cobra.Command)
	visit = func(path []string, c *cobra.Command) {
		if c.Hidden {
			return
		}
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			visit(append(append([]string{}, path...), sub.Name()), sub)
		}
	}
	visit(nil, root)
	if len(paths) < 8 { // zdgen, new, version, help, completion and its four shells
		t.Fatalf("commands %v", paths)
	}
	for _, path := range paths {
		code, out, errOut := zdgen(t, nil, append(path, "--help")...)
		if code != exitOK || !strings.Contains(out, "Examples:\n  ") {
			t.Errorf("zdgen %s --help: exit %d, no examples:\n%s%s", strings.Join(path, " "), code, out, errOut)
		}
	}
	code, out, _ := zdgen(t, nil, "new", "--help")
	for _, want := range []string{"zdgen new orders", "--yes", "--dry-run", "--json", "--config", "--force", "--output", "--replicas", "--grace-period", "(default 3)"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("new --help lacks %q", want)
		}
	}
	if code, out, _ := zdgen(t, nil); code != exitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "completion") {
		t.Errorf("zdgen alone: exit %d:\n%s", code, out)
	}
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
	}{
		{errInterrupted, exitInterrupted},
		{errRehearsalInterrupted, exitInterrupted},
		{fmt.Errorf("writing: %w", context.Canceled), exitInterrupted},
		{usageError{errors.New("bad")}, exitUsage},
		{fmt.Errorf("--config x: %w", &spec.InputError{Field: "replicas", Rule: "r"}), exitUsage},
		{errors.New("disk full"), exitFailure},
	} {
		if got := exitCode(c.err); got != c.code {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}

// The telemetry answers as flags: a boolean flag alone means true, and
// =false turns one off; the flush timeout reaches the plan's grace period;
// the rules between them are exit 2 naming the answer.
func TestTelemetryFlags(t *testing.T) {
	code, out, errOut := zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--json", "--service-monitor", "--tracing", "otlp", "--trace-flush-timeout", "4s")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s := parseSummary(t, out)
	if a := s.Plan.Answers; !a.Metrics || !a.ServiceMonitor || a.Tracing != spec.TracingOTLP || a.TraceFlush.String() != "4s" {
		t.Errorf("answers %+v", a)
	}
	if s.Plan.Grace != 5+2+10+4+5 {
		t.Errorf("terminationGracePeriodSeconds %d, want preStop 5 + drain 2 + shutdown 10 + flush 4 + margin 5", s.Plan.Grace)
	}
	code, out, _ = zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--json", "--metrics=false")
	if code != exitOK || parseSummary(t, out).Plan.Answers.Metrics {
		t.Errorf("--metrics=false: exit %d, metrics still on", code)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics=false", "--service-monitor"}, "service-monitor: \"true\": needs metrics"},
		{[]string{"--trace-flush-timeout", "3s"}, "trace-flush-timeout: \"3s\": applies only with tracing otlp"},
		{[]string{"--tracing", "zipkin"}, "tracing: \"zipkin\": must be none or otlp"},
	} {
		code, _, errOut := zdgen(t, nil, append([]string{"new", "svc", "--yes", "--dry-run"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// --ci none leaves the CI workflow out, and the lock records it; the
// default writes .github/workflows/ci.yaml; another value is exit 2 naming
// the answer.
func TestCIFlag(t *testing.T) {
	const workflow = ".github/workflows/ci.yaml"
	root := t.TempDir()
	for _, c := range []struct {
		args []string
		want string // the answer recorded
	}{{nil, spec.CIGitHub}, {[]string{"--ci", "none"}, spec.CINone}, {[]string{"--ci=github"}, spec.CIGitHub}} {
		dir := filepath.Join(root, c.want+strconv.Itoa(len(c.args)))
		code, _, errOut := zdgen(t, nil, append([]string{"new", "svc", "--yes", "--output", dir}, c.args...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		if got := lockOf(t, dir).Answers.CI; got != c.want {
			t.Errorf("%v: lock records ci %q, want %q", c.args, got, c.want)
		}
		if has := exists(t, filepath.Join(dir, workflow)); has != (c.want == spec.CIGitHub) {
			t.Errorf("%v: %s written: %v", c.args, workflow, has)
		}
	}
	code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--ci", "gitlab")
	if code != exitUsage || !strings.Contains(errOut, `ci: "gitlab": must be github or none`) {
		t.Errorf("--ci gitlab: exit %d, %q", code, errOut)
	}
}

// --autoscale MIN-MAX: the answer is recorded, the plan counts from MIN,
// and the tree gains the autoscaler, listed in the kustomization.
func TestAutoscaleFlag(t *testing.T) {
	code, out, errOut := zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--json", "--autoscale", "2-8")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s := parseSummary(t, out)
	if s.Plan.Answers.Autoscale != "2-8" {
		t.Errorf("autoscale answer %q, want 2-8", s.Plan.Answers.Autoscale)
	}
	if !slices.Contains(s.paths(), "deploy/k8s/hpa.yaml") {
		t.Errorf("no deploy/k8s/hpa.yaml in %v", s.paths())
	}
	derived := map[string]string{}
	for _, d := range s.Plan.Derived {
		derived[d.Key] = d.Value
	}
	if derived["minReplicas"] != "2" || derived["maxReplicas"] != "8" || derived["replicas"] != "left out" {
		t.Errorf("derived %v: want minReplicas 2, maxReplicas 8, replicas left out", derived)
	}
	code, out, _ = zdgen(t, nil, "new", "svc", "--yes", "--dry-run", "--json")
	if s := parseSummary(t, out); code != exitOK || s.Plan.Answers.Autoscale != spec.AutoscaleOff || slices.Contains(s.paths(), "deploy/k8s/hpa.yaml") {
		t.Errorf("without --autoscale: exit %d, autoscale %q, files %v", code, s.Plan.Answers.Autoscale, s.paths())
	}
}

// Every default `zdgen new --help` shows is the value the answer takes
// when it is not given; an answer that applies only with another (the
// flush timeout, with tracing) shows the default it has then, and says
// with what. A default shown for an answer that is not in effect ("0s"
// for a flush timeout without tracing) tells the reader nothing true.
func TestHelpShowsTheRealDefaults(t *testing.T) {
	code, out, _ := zdgen(t, nil, "new", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	shown := regexp.MustCompile(`\(default ([^ )]+)(?: with ([a-z-]+) ([^ )]+))?\)$`)
	lines := strings.Split(out, "\n")
	for _, f := range spec.Fields {
		if f.Key == "name" {
			continue // the positional NAME
		}
		line := ""
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "--"+f.Key+" ") {
				line = l
			}
		}
		if line == "" {
			t.Errorf("--%s is not in new --help", f.Key)
			continue
		}
		m := shown.FindStringSubmatch(line)
		if m == nil {
			if !f.Optional() {
				t.Errorf("--%s shows no default:\n%s", f.Key, line)
			}
			continue
		}
		given := map[string]string{"name": "svc"}
		if m[2] != "" {
			given[m[2]] = m[3]
		}
		a, err := spec.Resolve(given)
		if err != nil {
			t.Errorf("--%s: the help's condition %v: %v", f.Key, given, err)
			continue
		}
		if !f.AppliesTo(&a) {
			t.Errorf("--%s shows the default %s, but with %v it is not used:\n%s", f.Key, m[1], given, line)
		}
		if want := strings.ReplaceAll(m[1], "NAME", "svc"); f.Get(&a) != want {
			t.Errorf("--%s shows the default %s; given %v it is %s", f.Key, m[1], given, f.Get(&a))
		}
	}
}

// A boolean flag's value goes after "=": `--metrics false` sets metrics
// (the flag alone means true) and leaves "false" as an argument, which
// would name the service "false" or be an extra argument. A bare true or
// false right after a boolean flag is refused (exit 2) with the form that
// works; nothing is written.
func TestBooleanFlagValueAfterASpace(t *testing.T) {
	for _, c := range []struct {
		args []string
		hint string
	}{
		{[]string{"new", "--yes", "--metrics", "false"}, "--metrics=false"},
		{[]string{"new", "svc", "--yes", "--metrics", "false"}, "--metrics=false"},
		{[]string{"new", "svc", "--yes", "--service-monitor", "TRUE"}, "--service-monitor=TRUE"},
		{[]string{"new", "--service-monitor", "False", "svc", "--yes"}, "--service-monitor=False"},
		{[]string{"new", "svc", "--dry-run", "false", "--yes"}, "--dry-run=false"},
		{[]string{"new", "svc", "-y", "false"}, "-y=false"},
		{[]string{"upgrade", "--check", "false"}, "--check=false"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			parent := t.TempDir()
			t.Chdir(parent)
			code, out, errOut := zdgen(t, nil, c.args...)
			if code != exitUsage || !strings.Contains(errOut, c.hint) {
				t.Errorf("exit %d, %q; want 2 with the hint %s", code, errOut, c.hint)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			onlyEntries(t, parent)
		})
	}
	// A value given with "=", a flag that takes a value, and a name that
	// only starts like one are fine.
	for _, args := range [][]string{
		{"new", "--yes", "--metrics=false", "svc", "--dry-run"},
		{"new", "svc", "--yes", "--metrics", "--dry-run"},
		{"new", "falsehood", "--yes", "--metrics", "--dry-run"},
		{"new", "svc", "--yes", "--dry-run", "--output", "false"},
	} {
		if code, _, errOut := zdgen(t, nil, args...); code != exitOK {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
}

// Without the release build's stamp, `zdgen version` reports what the go
// command recorded: the module's version (go install ...@vX.Y.Z) and the
// commit a clone was built from, with its time (not the build's), marked
// when it had local changes.
func TestVersionFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.time", Value: "2026-03-04T05:06:07Z"}}
	for _, c := range []struct {
		name                  string
		stamped               [3]string
		info                  *debug.BuildInfo
		version, commit, date string
	}{
		{"stamped", [3]string{"1.2.3", "abc1234", "2026-01-02"}, &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: vcs}, "1.2.3", "abc1234", "2026-01-02"},
		{"go install @version", [3]string{"dev", "none", "unknown"}, &debug.BuildInfo{Main: debug.Module{Version: "v0.9.1"}}, "0.9.1", "none", "unknown"},
		{"checkout", [3]string{"dev", "none", "unknown"}, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "dev", "0123456789abcdef0123456789abcdef01234567 of 2026-03-04T05:06:07Z", "unknown"},
		{"modified checkout", [3]string{"dev", "none", "unknown"}, &debug.BuildInfo{Main: debug.Module{Version: "v0.9.2-0.20260304050607-0123456789ab+dirty"}, Settings: append(slices.Clone(vcs), debug.BuildSetting{Key: "vcs.modified", Value: "true"})}, "0.9.2-0.20260304050607-0123456789ab+dirty", "0123456789abcdef0123456789abcdef01234567 of 2026-03-04T05:06:07Z (modified)", "unknown"},
		{"no build info", [3]string{"dev", "none", "unknown"}, nil, "dev", "none", "unknown"},
	} {
		v, cm, d := buildVersion(c.stamped[0], c.stamped[1], c.stamped[2], c.info)
		if v != c.version || cm != c.commit || d != c.date {
			t.Errorf("%s: %q, %q, %q; want %q, %q, %q", c.name, v, cm, d, c.version, c.commit, c.date)
		}
	}
}

// Shell completion offers the values an answer takes: the Kubernetes
// versions zdgen supports, autoscale's forms, rehearse's pull policies
// and disruptions, and upgrade --set's keys, then a key's values where
// they are few.
func TestCompletionValues(t *testing.T) {
	complete := func(args ...string) []string {
		t.Helper()
		code, out, errOut := zdgen(t, nil, append([]string{"__complete"}, args...)...)
		if code != exitOK {
			t.Fatalf("__complete %v: exit %d: %s", args, code, errOut)
		}
		var vs []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, ":") {
				v, _, _ := strings.Cut(l, "\t")
				vs = append(vs, v)
			}
		}
		return vs
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"new", "svc", "--k8s-version", ""}, []string{fmt.Sprintf("1.%d", spec.MinK8sMinor), fmt.Sprintf("1.%d", spec.DefaultK8sMinor), fmt.Sprintf("1.%d", spec.MaxK8sMinor)}},
		{[]string{"new", "svc", "--autoscale", ""}, []string{"off", "2-10"}},
		{[]string{"rehearse", "--cluster", "--pull-policy", ""}, []string{"Always", "IfNotPresent", "Never"}},
		{[]string{"rehearse", "--cluster", "--disrupt", ""}, []string{"rollout", "drain", "evict"}},
		{[]string{"upgrade", "--set", ""}, []string{"replicas=", "autoscale=", "k8s-version=", "overlay-version="}},
		{[]string{"upgrade", "--set", "prestop="}, []string{"prestop=auto", "prestop=sleep", "prestop=exec", "prestop=none"}},
		{[]string{"upgrade", "--set", "k8s-version=1.3"}, []string{"k8s-version=1.30", "k8s-version=1.35"}},
		{[]string{"upgrade", "--set", "metrics="}, []string{"metrics=true", "metrics=false"}},
	} {
		got := complete(c.args...)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("completing %v: %q lacks %q", c.args, got, w)
			}
		}
	}
	// The name and protocol cannot change in an upgrade: not offered.
	if got := complete("upgrade", "--set", ""); slices.Contains(got, "name=") || slices.Contains(got, "protocol=") {
		t.Errorf("upgrade --set offers %q", got)
	}
}

// An explicit replica count with an autoscaler would be ignored (the
// autoscaler sets the count from its MIN): the pair is refused, at new
// and at upgrade, naming both; each alone, or replicas with autoscale
// off, is fine.
func TestReplicasWithAutoscaleRefused(t *testing.T) {
	parent := t.TempDir()
	code, _, errOut := zdgen(t, nil, "new", "svc", "--yes", "--replicas", "5", "--autoscale", "2-6", "--output", filepath.Join(parent, "svc"))
	if code != exitUsage || !strings.Contains(errOut, "replicas") || !strings.Contains(errOut, "autoscale 2-6") {
		t.Errorf("new --replicas 5 --autoscale 2-6: exit %d, %q; want 2 naming both", code, errOut)
	}
	onlyEntries(t, parent)
	for _, args := range [][]string{
		{"--replicas", "5", "--autoscale", "off"},
		{"--autoscale", "2-6"},
		{"--replicas", "5"},
	} {
		if code, _, errOut := zdgen(t, nil, append([]string{"new", "svc", "--yes", "--dry-run"}, args...)...); code != exitOK {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}

	dir := filepath.Join(t.TempDir(), "shop")
	if code, _, errOut := zdgen(t, nil, "new", "shop", "--yes", "--autoscale", "2-6", "--output", dir); code != exitOK {
		t.Fatalf("new: exit %d: %s", code, errOut)
	}
	git(t, dir, "init", "-q")
	commitAll(t, dir, "generated")
	before := tree(t, dir)
	for _, set := range [][]string{{"--set", "replicas=5"}, {"--set", "autoscale=3-9", "--set", "replicas=5"}} {
		code, _, errOut := zdgen(t, nil, append([]string{"upgrade", dir}, set...)...)
		if code != exitUsage || !strings.Contains(errOut, "replicas") || !strings.Contains(errOut, "autoscale=off") {
			t.Errorf("upgrade %v: exit %d, %q; want 2 saying to turn autoscale off", set, code, errOut)
		}
	}
	sameTree(t, before, tree(t, dir))
	if code, out, errOut := zdgen(t, nil, "upgrade", dir, "--set", "replicas=5", "--set", "autoscale=off"); code != exitOK {
		t.Errorf("replicas=5 with autoscale=off: exit %d\n%s%s", code, out, errOut)
	}
}
