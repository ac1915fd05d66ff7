// Package examples keeps examples/ byte-identical to what the generator
// writes today. Each NAME.yaml is an answers file; NAME/ is the tree zdgen
// generates from it. `go test ./examples -update` regenerates them on
// purpose, after a template change.
package examples

import (
	"bytes"
	"context"
	"flag"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/write"
)

var update = flag.Bool("update", false, "rewrite examples/ from the current generator")

// overlayDir holds the example organisation overlay and, beside it, the
// services generated with it (overlay/NAME.yaml and overlay/NAME/).
const overlayDir = "overlay"

func examples(t *testing.T) map[string][]spec.File {
	t.Helper()
	answerFiles, err := filepath.Glob("*.yaml")
	if err != nil || len(answerFiles) == 0 {
		t.Fatalf("no answers files in examples/: %v", err)
	}
	overlaid, err := filepath.Glob(filepath.Join(overlayDir, "*.yaml"))
	if err != nil || len(overlaid) == 0 {
		t.Fatalf("no answers files in examples/%s: %v", overlayDir, err)
	}
	ov, err := overlay.Load(filepath.Join(overlayDir, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	// As zdgen new --overlay ./acme records it, run in examples/overlay.
	applied, err := overlay.Apply(ov, "", "../acme")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]spec.File{}
	for _, af := range append(answerFiles, overlaid...) {
		b, err := os.ReadFile(af)
		if err != nil {
			t.Fatal(err)
		}
		given, err := spec.ParseAnswersFile(b)
		if err != nil {
			t.Fatalf("%s: %v", af, err)
		}
		var with *overlay.Applied
		if filepath.Dir(af) == overlayDir {
			with = applied // its defaults come under the answers given
		}
		a, err := generator.ResolveAnswers(given, spec.Resolving{TakeDefaults: true}, with)
		if err != nil {
			t.Fatalf("%s: %v", af, err)
		}
		_, files, err := generator.Compose(context.Background(), generator.Service{Answers: a, Overlay: with})
		if err != nil {
			t.Fatalf("%s: %v", af, err)
		}
		out[strings.TrimSuffix(af, ".yaml")] = files
	}
	return out
}

func TestExamplesAreCurrent(t *testing.T) {
	for dir, files := range examples(t) {
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := write.Write(context.Background(), dir, files, false); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want := map[string][]byte{}
		for _, f := range files {
			want[f.Path] = f.Content
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(rel)
			got, _ := os.ReadFile(p)
			w, ok := want[rel]
			switch {
			case !ok:
				t.Errorf("%s/%s is not generated any more", dir, rel)
			case !bytes.Equal(got, w):
				t.Errorf("%s/%s differs from what the generator writes", dir, rel)
			}
			delete(want, rel)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for rel := range want {
			t.Errorf("%s/%s is generated but missing", dir, rel)
		}
	}
	if t.Failed() {
		t.Log("if the change is intended: go test ./examples -update")
	}
}

// Each example is a module that builds and passes its own tests.
func TestExamplesPassTheirOwnTests(t *testing.T) {
	if testing.Short() || *update {
		t.Skip("runs each example's test suite")
	}
	for dir := range examples(t) {
		for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
			cmd := exec.Command("go", args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: go %s: %v\n%s", dir, strings.Join(args, " "), err, out)
			}
		}
	}
}

// recipeGuard bounds a README recipe run (it builds the load client, then
// loads for a few seconds). It is not a timing assertion: a recipe that does
// not stop runs into it, and the test fails instead of hanging.
const recipeGuard = 3 * time.Minute

// The README's continuous-load recipe — start the load client in the
// background, redeploy, stop the client and collect its report — works from
// a script: the stop signal reaches the load client itself, and `wait`
// returns its report and exit status. Run against each example, built and
// started locally, with the redeploy replaced by a short sleep.
func TestReadmeContinuousLoadRecipe(t *testing.T) {
	if testing.Short() || *update {
		t.Skip("builds and runs each example")
	}
	for dir := range examples(t) {
		t.Run(dir, func(t *testing.T) {
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			_, after, ok := strings.Cut(string(readme), "under continuous load**")
			_, block, ok2 := strings.Cut(after, "```sh\n")
			script, _, ok3 := strings.Cut(block, "```")
			if !ok || !ok2 || !ok3 {
				t.Fatal("README: no continuous-load recipe (a sh block after \"under continuous load\")")
			}

			work, addr := startExample(t, dir)

			// The cluster-specific parts: the address callers use, and the
			// rollouts (a pause instead, while the load runs).
			n := 0
			for _, r := range []struct{ re, with string }{
				{`YOUR-INGRESS|YOUR-LB:[0-9]+`, addr},
				{`make redeploy ROLLOUTS=[0-9]+`, "sleep 2"},
			} {
				re := regexp.MustCompile(r.re)
				n += len(re.FindAllString(script, -1))
				script = re.ReplaceAllString(script, r.with)
			}
			if n != 2 {
				t.Fatalf("expected one address and one redeploy in the recipe, replaced %d:\n%s", n, script)
			}

			ctx, cancel := context.WithTimeout(context.Background(), recipeGuard)
			defer cancel()
			sh := exec.CommandContext(ctx, "sh", "-c", script)
			sh.Dir = work
			sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			sh.Cancel = func() error { return syscall.Kill(-sh.Process.Pid, syscall.SIGKILL) }
			sh.WaitDelay = 10 * time.Second
			out, err := sh.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("the recipe did not finish within %s: the load client never stopped\n%s\n%s", recipeGuard, script, out)
			}
			if err != nil || !strings.Contains(string(out), "RESULT: PASS") {
				t.Errorf("the recipe: %v, want exit 0 and a passing report\n%s\n%s", err, script, out)
			}
		})
	}
}

// startExample copies an example into a temporary directory, builds its
// service there and starts it on free ports; it returns the directory and
// the service's address once it listens.
func startExample(t *testing.T, dir string) (work, addr string) {
	t.Helper()
	work = t.TempDir()
	if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	mains, _ := filepath.Glob(filepath.Join(work, "cmd", "*"))
	var service string
	for _, m := range mains {
		if filepath.Base(m) != "loadtest" {
			service = filepath.Base(m)
		}
	}
	build := exec.Command("go", "build", "-o", filepath.Join(work, "service"), "./cmd/"+service)
	build.Dir = work
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port, health := freePort(t), freePort(t)
	svc := exec.Command(filepath.Join(work, "service"))
	svc.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "HEALTH_PORT="+strconv.Itoa(health), "DRAIN_DELAY=0s")
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Process.Kill(); svc.Wait() })
	addr = "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(time.Minute); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return work, addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service never listened on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The HTTP example's /work refuses a body over 1 MiB with 413, also when
// its length is not declared (chunked) and only reading finds out. This
// lives here rather than in the service's own tests because /work is in
// handlers.go, the owner's file: a repository upgraded from an older zdgen
// keeps its own /work.
func TestWorkRejectsABigChunkedBody(t *testing.T) {
	if testing.Short() || *update {
		t.Skip("builds and runs the example")
	}
	_, addr := startExample(t, "http-greeter")
	for _, c := range []struct {
		size int
		want int
	}{{2_000_000, http.StatusRequestEntityTooLarge}, {1 << 20, http.StatusOK}} {
		body := io.MultiReader(strings.NewReader(strings.Repeat("x", c.size))) // no length known: sent chunked
		resp, err := http.Post("http://"+addr+"/work?ms=1", "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("chunked %d-byte POST /work?ms=1 = %d, want %d", c.size, resp.StatusCode, c.want)
		}
	}
}

// freePort asks the kernel for a port nobody is using.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// `make rehearse` needs zdgen, which is not a dependency of the generated
// module. Without one it stops before running anything and says how to get
// it, at a version that exists: no generated file pins a release tag
// (none may exist for the version that generated it).
func TestMakeRehearseSaysHowToInstallZdgen(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	for dir, files := range examples(t) {
		for _, f := range files {
			if bytes.Contains(f.Content, []byte("cmd/zdgen@v")) {
				t.Errorf("%s/%s installs zdgen at a release tag, which may not exist", dir, f.Path)
			}
		}
		missing := filepath.Join(t.TempDir(), "zdgen")
		cmd := exec.Command("make", "rehearse", "ZDGEN="+missing)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "go install github.com/zdgen/zdgen/cmd/zdgen@latest") {
			t.Errorf("%s: make rehearse with no zdgen: %v, want a failure saying how to install zdgen:\n%s", dir, err, out)
		}
	}
}
