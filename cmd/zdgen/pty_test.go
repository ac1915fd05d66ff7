package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyScreen runs the real zdgen binary on a pseudo-terminal, so the survey
// prompts run exactly as a person sees them.
type ptyScreen struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

var buildOnce struct {
	sync.Once
	path string
	err  error
}

func zdgenBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zdgen-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "zdgen")
		if out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput(); err != nil {
			buildOnce.err = errors.New(string(out))
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("go build: %v", buildOnce.err)
	}
	return buildOnce.path
}

func startTerminal(t *testing.T, args ...string) *ptyScreen {
	t.Helper()
	cmd := exec.Command(zdgenBinary(t), args...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	term := &ptyScreen{t: t, cmd: cmd, tty: tty, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		answered := 0
		for {
			n, err := tty.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			// Survey asks the terminal where the cursor is (ESC[6n) and
			// waits for the answer, as a real terminal would give it.
			// Counted over the whole output: a request may span two reads.
			asked := bytes.Count(term.out.Bytes(), []byte("\x1b[6n"))
			term.mu.Unlock()
			for ; answered < asked; answered++ {
				tty.WriteString("\x1b[1;1R")
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		cmd.Wait()
		close(term.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-term.done
		tty.Close()
	})
	return term
}

func (term *ptyScreen) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until the screen has shown text.
func (term *ptyScreen) waitFor(text string) {
	term.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(term.output(), text); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal never showed %q:\n%s", text, term.output())
		}
	}
}

func (term *ptyScreen) typeText(s string) {
	term.t.Helper()
	if _, err := term.tty.WriteString(s); err != nil {
		term.t.Fatal(err)
	}
}

// finish presses Enter until zdgen exits, and returns its exit code.
func (term *ptyScreen) finish() int {
	term.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-term.done:
			return term.cmd.ProcessState.ExitCode()
		case <-deadline:
			term.t.Fatalf("zdgen did not finish:\n%s", term.output())
		case <-time.After(300 * time.Millisecond):
			term.tty.WriteString("\r")
		}
	}
}

func TestTerminalPromptsAcceptDefaultsAndReaskBadAnswers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "svc")
	term := startTerminal(t, "new", "svc", "--output", dir)
	term.waitFor("Protocol")
	term.typeText("\r")
	term.waitFor("Base image")
	term.typeText("\r")
	term.waitFor("Replicas")
	term.typeText("0\r")
	term.waitFor("must be 1 to 100")
	term.typeText("5\r")
	if code := term.finish(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, term.output())
	}
	if a := lockOf(t, dir).Answers; a.Replicas != 5 || a.Protocol != "http" || a.BaseImage != "distroless" {
		t.Errorf("answers %+v", a)
	}
}

func TestTerminalCtrlC(t *testing.T) {
	parent := t.TempDir()
	term := startTerminal(t, "new", "svc", "--output", filepath.Join(parent, "svc"))
	term.waitFor("Protocol")
	term.typeText("\x03")
	select {
	case <-term.done:
	case <-time.After(30 * time.Second):
		t.Fatal("zdgen did not stop on Ctrl-C")
	}
	if code := term.cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit %d, want 130:\n%s", code, term.output())
	}
	if len(entries(t, parent)) != 0 {
		t.Error("something was written")
	}
}
