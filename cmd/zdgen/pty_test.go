//go:build !windows

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/zdgen/zdgen/generator/spec"
)

// ptyTimeout bounds every wait on the terminal, so a prompt that never
// comes (or never goes) fails the test instead of hanging it.
const ptyTimeout = 30 * time.Second

// TestTerminal runs the built zdgen binary on a pseudo-terminal, so that
// the survey prompts run exactly as a person sees them: raw mode, cursor
// queries, arrow keys, Enter, Ctrl-C.
func TestTerminal(t *testing.T) {
	bin := buildZdgen(t)

	// Enter at every prompt accepts every default, in Fields order.
	t.Run("EnterAcceptsEveryDefault", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		term := startTerminal(t, bin, "new", "svc", "--output", dir)
		for _, f := range askedFields() {
			term.waitFor(f.Prompt)
			term.typeText("\r")
		}
		if code := term.wait(); code != 0 {
			t.Fatalf("exit %d:\n%s", code, term.output())
		}
		term.waitFor("Wrote")
		for _, p := range []string{"go.mod", "Dockerfile", "deploy/k8s/deployment.yaml", ".zdgen.yaml", "cmd/svc/main.go"} {
			if !exists(t, filepath.Join(dir, p)) {
				t.Errorf("%s was not written", p)
			}
		}
		if a := lockOf(t, dir).Answers; a != spec.Defaults("svc") {
			t.Errorf("answers %+v, want the defaults %+v", a, spec.Defaults("svc"))
		}
	})

	// Arrow keys move a Select; "other" asks for an image reference,
	// which is checked; a bad typed answer is asked again with its rule.
	t.Run("ArrowKeysAndBadAnswers", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		term := startTerminal(t, bin, "new", "svc", "--output", dir)
		const down = "\x1b[B"
		for _, f := range askedFields() {
			term.waitFor(f.Prompt)
			switch f.Key {
			case "protocol":
				term.typeText(down + "\r") // http -> grpc
			case "base-image":
				term.typeText(strings.Repeat(down, len(spec.BaseImageChoices)) + "\r") // other
				term.waitFor("Image reference")
				term.typeText("nginx\r")
				term.waitFor("needs a tag or digest")
				term.typeText("nginx:1.27\r")
			case "replicas":
				term.typeText("0\r")
				term.waitFor("must be 1 to 100")
				term.typeText("5\r")
			case "health-port":
				term.typeText("8080\r") // the service port's
				term.waitFor("must differ from port")
				term.typeText("9090\r")
			default:
				term.typeText("\r")
			}
		}
		if code := term.wait(); code != 0 {
			t.Fatalf("exit %d:\n%s", code, term.output())
		}
		a := lockOf(t, dir).Answers
		if a.Protocol != "grpc" || a.BaseImage != "nginx:1.27" || a.Replicas != 5 || a.HealthPort != 9090 {
			t.Errorf("answers %+v: want grpc, nginx:1.27, 5 replicas, health port 9090", a)
		}
	})

	// The service port moved to 8081, the health port's default: Enter
	// at the health port takes a port that passes, not one refused at
	// every Enter.
	t.Run("HealthPortAfterServicePort8081", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		term := startTerminal(t, bin, "new", "svc", "--output", dir)
		for _, f := range askedFields() {
			term.waitFor(f.Prompt)
			if f.Key == "port" {
				term.typeText("8081\r")
				continue
			}
			term.typeText("\r")
		}
		if code := term.wait(); code != 0 {
			t.Fatalf("exit %d:\n%s", code, term.output())
		}
		if a := lockOf(t, dir).Answers; a.Port != 8081 || a.HealthPort != 8082 {
			t.Errorf("port %d, health port %d; want 8081 and 8082", a.Port, a.HealthPort)
		}
	})

	// A base image that is none of the list's shorthands (recorded, or
	// given with --base-image before) is the list's default: Enter at
	// every question of upgrade --interactive changes nothing.
	t.Run("UpgradeEnterKeepsACustomBaseImage", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ci1")
		if code, _, errOut := zdgen(t, nil, "new", "ci1", "--yes", "--base-image", "myreg.example/base/static:1.2", "--output", dir); code != exitOK {
			t.Fatalf("new: exit %d: %s", code, errOut)
		}
		git(t, dir, "init", "-q")
		commitAll(t, dir, "generated")
		before := tree(t, dir)
		term := startTerminal(t, bin, "upgrade", "--interactive", dir)
		for _, f := range askedFields() {
			if f.Key == "protocol" {
				continue // fixed in an upgrade
			}
			term.waitFor(f.Prompt)
			term.typeText("\r")
		}
		if code := term.wait(); code != 0 {
			t.Fatalf("exit %d:\n%s", code, term.output())
		}
		term.waitFor("up to date")
		sameTree(t, before, tree(t, dir))
	})

	// With an overlay whose rule pins the registry, zdgen's own images
	// are refused at the prompt and asked again, the recorded image still
	// the default; the upgrade then changes nothing.
	t.Run("UpgradeOverlayRuleAsksAgain", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "acme")
		if err := os.CopyFS(local, os.DirFS(filepath.Join("..", "..", "examples", "overlay", "acme"))); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "orders")
		if code, _, errOut := zdgen(t, nil, "new", "orders", "--yes", "--overlay", local, "--ci", "none", "--output", dir); code != exitOK {
			t.Fatalf("new: exit %d: %s", code, errOut)
		}
		git(t, dir, "init", "-q")
		commitAll(t, dir, "generated")
		before := tree(t, dir)
		term := startTerminal(t, bin, "upgrade", "--interactive", dir)
		for _, f := range askedFields() {
			switch f.Key {
			case "protocol":
				continue // fixed in an upgrade
			case "base-image":
				term.waitFor(f.Prompt)
				term.typeText("\x1b[B\r") // down from the recorded image: distroless
				term.waitFor("rule base-image.pattern")
				term.typeText("\r")
				continue
			}
			term.waitFor(f.Prompt)
			term.typeText("\r")
		}
		if code := term.wait(); code != 0 {
			t.Fatalf("exit %d:\n%s", code, term.output())
		}
		term.waitFor("up to date")
		sameTree(t, before, tree(t, dir))
	})

	// zdgen new with an overlay proposes its base image, as it does its
	// other defaults: Enter at every question passes its rules.
	t.Run("NewProposesTheOverlaysBaseImage", func(t *testing.T) {
		acme, err := filepath.Abs(filepath.Join("..", "..", "examples", "overlay", "acme"))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "orders")
		term := startTerminal(t, bin, "new", "orders", "--overlay", acme, "--ci", "none", "--output", dir)
		for _, f := range askedFields() {
			if f.Key == "ci" {
				continue
			}
			term.waitFor(f.Prompt)
			term.typeText("\r")
		}
		if code := term.wait(); code != 0 {
			t.Fatalf("exit %d:\n%s", code, term.output())
		}
		if a := lockOf(t, dir).Answers; a.BaseImage != "registry.acme.example/base/static:2026.11" || a.Module != "github.com/acme/orders" {
			t.Errorf("base image %s, module %s; want the overlay's defaults", a.BaseImage, a.Module)
		}
	})

	// Ctrl-C at the first prompt: exit 130, nothing written.
	t.Run("CtrlC", func(t *testing.T) {
		parent := t.TempDir()
		term := startTerminal(t, bin, "new", "svc", "--output", filepath.Join(parent, "svc"))
		term.waitFor("Protocol")
		term.typeText("\x03")
		if code := term.wait(); code != exitInterrupted {
			t.Errorf("exit %d, want 130:\n%s", code, term.output())
		}
		term.waitFor("nothing was written")
		if es := entries(t, parent); len(es) != 0 {
			t.Errorf("left behind: %v", names(es))
		}
	})

	// A signal while a prompt waits for a key (SIGTERM, or SIGINT when
	// the terminal is not in raw mode) stops zdgen too: it must not be
	// swallowed while survey blocks on the keyboard.
	for name, sig := range map[string]syscall.Signal{"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT} {
		t.Run(name+"AtAPrompt", func(t *testing.T) {
			parent := t.TempDir()
			term := startTerminal(t, bin, "new", "svc", "--output", filepath.Join(parent, "svc"))
			term.waitFor("Protocol")
			term.typeText("\r")
			term.waitFor("Base image")
			if err := term.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := term.wait(); code != exitInterrupted {
				t.Errorf("exit %d, want 130:\n%s", code, term.output())
			}
			if es := entries(t, parent); len(es) != 0 {
				t.Errorf("left behind: %v", names(es))
			}
		})
	}
}

// askedFields are the prompts `zdgen new NAME` shows, in order: every
// answer but the name (given) and the optional overrides.
func askedFields() []spec.Field {
	var fs []spec.Field
	defaults := spec.Defaults("svc")
	for _, f := range spec.Fields {
		if f.Key != "name" && !f.Override() && f.AppliesTo(&defaults) {
			fs = append(fs, f)
		}
	}
	return fs
}

// buildZdgen builds the command once for the test that needs it.
func buildZdgen(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zdgen")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// ptyScreen is zdgen running on a pseudo-terminal and what it has shown.
type ptyScreen struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	done chan struct{} // closed when the process has exited

	mu   sync.Mutex
	out  bytes.Buffer
	seen int // output before this offset has been matched by waitFor
}

func startTerminal(t *testing.T, bin string, args ...string) *ptyScreen {
	t.Helper()
	// pty.Start would close the terminal's own end once zdgen has it; the
	// test keeps it open, so that after zdgen exits it can still check the
	// terminal was left as a shell needs it (echo on).
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 200}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true} // as a shell starts it: its own session, the terminal its controlling one
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	term := &ptyScreen{t: t, cmd: cmd, tty: ptmx, done: make(chan struct{})}
	reading := make(chan struct{})
	go func() {
		defer close(reading)
		buf := make([]byte, 4096)
		answered := 0
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			// Survey asks the terminal where the cursor is (ESC[6n) and
			// waits for the answer, as a real terminal would give it.
			// Counted over the whole output: a request may span two reads.
			asked := bytes.Count(term.out.Bytes(), []byte("\x1b[6n"))
			term.mu.Unlock()
			for ; answered < asked; answered++ {
				_, _ = ptmx.WriteString("\x1b[1;1R")
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(term.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-term.done
		_ = ptmx.Close()
		_ = tty.Close()
		<-reading
	})
	return term
}

func (term *ptyScreen) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until the screen shows text after what earlier waits
// matched, so that each prompt is waited for in turn.
func (term *ptyScreen) waitFor(text string) {
	term.t.Helper()
	deadline := time.Now().Add(ptyTimeout)
	for {
		term.mu.Lock()
		i := strings.Index(term.out.String()[term.seen:], text)
		if i >= 0 {
			term.seen += i + len(text)
		}
		term.mu.Unlock()
		if i >= 0 {
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal never showed %q:\n%s", text, term.output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (term *ptyScreen) typeText(s string) {
	term.t.Helper()
	if _, err := term.tty.WriteString(s); err != nil {
		term.t.Fatal(err)
	}
}

// wait waits for zdgen to exit, checks it left the terminal usable, and
// returns its exit code.
func (term *ptyScreen) wait() int {
	term.t.Helper()
	select {
	case <-term.done:
	case <-time.After(ptyTimeout):
		term.t.Fatalf("zdgen did not exit:\n%s", term.output())
	}
	// Survey puts the terminal in raw mode (no echo) while it asks; zdgen
	// must leave it as it found it, or the person's shell types blind.
	term.mu.Lock()
	seen := term.seen
	term.mu.Unlock()
	term.typeText("typed-after-exit\r")
	term.waitFor("typed-after-exit")
	term.mu.Lock()
	term.seen = seen // what zdgen showed before it exited is still to be checked
	term.mu.Unlock()
	return term.cmd.ProcessState.ExitCode()
}
