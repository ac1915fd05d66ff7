package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
	"github.com/zdgen/zdgen/generator/spec"
)

// fakePrompter answers prompts from a script, like a person at a terminal:
// for each question it tries the scripted answers in turn, calling check
// on each exactly as survey does and asking again when check rejects it.
// It records every question, the default it proposed, and every rejection.
type fakePrompter struct {
	t       *testing.T
	script  map[string][]string // field key -> answers to try in order; "" is Enter (the default)
	ctrlCAt int                 // press Ctrl-C at this question (1-based); 0: never
	err     error               // if set, every question fails with it

	asked    []string          // field keys, in the order asked
	prompts  []string          // the prompt texts
	defaults map[string]string // field key -> the proposed default
	rejected map[string][]string
}

func newFake(t *testing.T, script map[string][]string) *fakePrompter {
	return &fakePrompter{t: t, script: script, defaults: map[string]string{}, rejected: map[string][]string{}}
}

func (p *fakePrompter) Ask(f spec.Field, def string, check func(string) error) (string, error) {
	p.asked = append(p.asked, f.Key)
	p.prompts = append(p.prompts, f.Prompt)
	p.defaults[f.Key] = def
	if p.err != nil {
		return "", p.err
	}
	if len(p.asked) == p.ctrlCAt {
		return "", errInterrupted
	}
	tries := p.script[f.Key]
	if len(tries) == 0 {
		tries = []string{""}
	}
	for _, answer := range tries {
		if answer == "" {
			answer = def // Enter
		}
		if err := check(answer); err != nil {
			p.rejected[f.Key] = append(p.rejected[f.Key], err.Error())
			continue // survey shows the error and asks again
		}
		return answer, nil
	}
	p.t.Errorf("%s: every scripted answer %q was rejected: %v", f.Key, tries, p.rejected[f.Key])
	return "", errInterrupted
}

// askedKeys are the questions `zdgen new` asks when nothing is given.
func askedKeys() []string {
	var keys []string
	defaults := spec.Defaults("svc")
	for _, f := range spec.Fields {
		if !f.Override() && f.AppliesTo(&defaults) {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

// Enter at every prompt: every answer asked in Fields order, each with its
// default, and the result is the defaults.
func TestPromptsAcceptDefaults(t *testing.T) {
	p := newFake(t, map[string][]string{"name": {"svc"}})
	dir := filepath.Join(t.TempDir(), "svc")
	code, out, errOut := zdgen(t, p, "new", "--output", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got, want := strings.Join(p.asked, " "), strings.Join(askedKeys(), " "); got != want {
		t.Errorf("asked\n %s\nwant\n %s", got, want)
	}
	want := spec.Defaults("svc")
	for _, f := range spec.Fields {
		if d, ok := p.defaults[f.Key]; ok && f.Key != "name" && d != f.Get(&want) {
			t.Errorf("%s: proposed %q, want %q", f.Key, d, f.Get(&want))
		}
	}
	if p.defaults["name"] != "" || p.defaults["module"] != "example.com/svc" {
		t.Errorf("proposed name %q, module %q", p.defaults["name"], p.defaults["module"])
	}
	if p.prompts[0] != "Service name" {
		t.Errorf("first prompt %q", p.prompts[0])
	}
	if len(p.rejected) != 0 {
		t.Errorf("rejected %v", p.rejected)
	}
	if a := lockOf(t, dir).Answers; a != want {
		t.Errorf("answers %+v, want the defaults %+v", a, want)
	}
	if !strings.HasPrefix(out, "Wrote ") {
		t.Errorf("stdout %q", out)
	}
}

// What flags, the argument or --config give is not asked again; a default
// follows the answers before it.
func TestPromptsSkipGivenAnswers(t *testing.T) {
	config := filepath.Join(t.TempDir(), "answers.yaml")
	writeFile(t, config, "port: 9000\nhealth-port: 9001\n")
	p := newFake(t, map[string][]string{"propagation-lag": {"7s"}, "prestop": {"none"}})
	dir := filepath.Join(t.TempDir(), "svc")
	code, _, errOut := zdgen(t, p, "new", "svc", "--config", config, "--base-image", "alpine", "--replicas", "4", "--output", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := []string{"protocol", "autoscale", "module", "description", "k8s-version", "metrics", "service-monitor", "tracing", "expose", "ci", "propagation-lag", "max-request", "startup-time", "prestop", "drain-delay"}
	if strings.Join(p.asked, " ") != strings.Join(want, " ") {
		t.Errorf("asked %v, want %v", p.asked, want)
	}
	if p.defaults["drain-delay"] != "9s" {
		t.Errorf("drain-delay proposed %q: with prestop none it must cover the 7s lag (+2s)", p.defaults["drain-delay"])
	}
	a := lockOf(t, dir).Answers
	if a.BaseImage != "alpine" || a.Replicas != 4 || a.Port != 9000 || a.HealthPort != 9001 || a.PreStop != "none" || a.DrainDelay.Seconds() != 9 {
		t.Errorf("answers %+v", a)
	}
}

// A bad answer is rejected by check, with the field and the rule, and asked
// again; the answer that passes is the one used.
func TestPromptsReaskBadAnswers(t *testing.T) {
	for _, c := range []struct {
		key       string
		bad, good string
		rule      string
		before    map[string][]string // earlier answers the rule depends on
	}{
		{"name", "Bad_Name", "svc", "DNS-1035", nil},
		{"name", "../x", "svc", "DNS-1035", nil},
		{"protocol", "ftp", "grpc", "must be http or grpc", nil},
		{"base-image", "nginx:latest", "nginx:1.27", "latest", nil},
		{"base-image", "nginx", "scratch", "needs a tag or digest", nil},
		{"replicas", "0", "2", "must be 1 to 100", nil},
		{"replicas", "101", "100", "must be 1 to 100", nil},
		{"module", "not a module path!", "github.com/acme/svc", "not a valid Go module path", nil},
		{"k8s-version", "banana", "1.30", "want a Kubernetes version", nil},
		{"k8s-version", "1.10", "1.23", "supports Kubernetes 1.23 to 1.37", nil},
		{"port", "80", "9000", "1024 to 65535", nil},
		{"health-port", "8080", "9001", "must differ from port", nil},
		{"propagation-lag", "1.5s", "3s", "whole number of seconds", nil},
		{"prestop", "sleep", "exec", "needs Kubernetes >= 1.30", map[string][]string{"k8s-version": {"1.29"}}},
		{"drain-delay", "1s", "6s", "must cover the propagation lag", map[string][]string{"prestop": {"none"}}},
	} {
		t.Run(c.key+" "+c.bad, func(t *testing.T) {
			script := map[string][]string{"name": {"svc"}, c.key: {c.bad, c.good}}
			for k, v := range c.before {
				script[k] = v
			}
			p := newFake(t, script)
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			code, _, errOut := zdgen(t, p, "new", "--output", dir)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if r := p.rejected[c.key]; len(r) != 1 || !strings.HasPrefix(r[0], c.key+": ") || !strings.Contains(r[0], c.rule) {
				t.Errorf("%q was rejected with %q; want one error naming %s and %q", c.bad, r, c.key, c.rule)
			}
			for k, r := range p.rejected {
				if k != c.key {
					t.Errorf("%s was rejected too: %v", k, r)
				}
			}
			a := lockOf(t, dir).Answers
			if f, _ := spec.FieldByKey(c.key); f.Get(&a) != c.good {
				t.Errorf("%s = %q, want the accepted %q", c.key, f.Get(&a), c.good)
			}
			onlyEntries(t, parent, "out")
		})
	}
}

// Ctrl-C at the third question: nothing more is asked, nothing written,
// exit 130.
func TestPromptsCtrlC(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string // the questions asked, the last one interrupted
	}{
		{[]string{"new"}, []string{"name", "protocol", "base-image"}},
		{[]string{"new", "svc"}, []string{"protocol", "base-image", "autoscale"}},
	} {
		want := c.want
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			p := newFake(t, map[string][]string{"name": {"svc"}})
			p.ctrlCAt = 3
			parent := t.TempDir()
			code, out, errOut := zdgen(t, p, append(c.args, "--output", filepath.Join(parent, "svc"))...)
			if code != exitInterrupted || errOut != "zdgen: interrupted; nothing was written\n" || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want 130", code, errOut, out)
			}
			if strings.Join(p.asked, " ") != strings.Join(want, " ") {
				t.Errorf("asked %v, want %v", p.asked, want)
			}
			onlyEntries(t, parent)
		})
	}
}

// A prompt that fails otherwise (the terminal went away) exits 1 and
// writes nothing.
func TestPromptsFailure(t *testing.T) {
	p := newFake(t, nil)
	p.err = io.ErrUnexpectedEOF
	parent := t.TempDir()
	code, _, errOut := zdgen(t, p, "new", "svc", "--output", filepath.Join(parent, "svc"))
	if code != exitFailure || !strings.Contains(errOut, io.ErrUnexpectedEOF.Error()) {
		t.Errorf("exit %d, %q; want 1", code, errOut)
	}
	onlyEntries(t, parent)
}

// --yes never prompts, even on a terminal.
func TestYesNeverPrompts(t *testing.T) {
	p := newFake(t, nil)
	dir := filepath.Join(t.TempDir(), "svc")
	if code, _, errOut := zdgen(t, p, "new", "svc", "--yes", "--output", dir); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if len(p.asked) != 0 {
		t.Errorf("--yes asked %v", p.asked)
	}
	// On a terminal without NAME, --yes cannot guess one.
	if code, _, errOut := zdgen(t, p, "new", "--yes", "--output", dir+"2"); code != exitUsage || !strings.Contains(errOut, "NAME") || len(p.asked) != 0 {
		t.Errorf("no NAME with --yes: exit %d, %q, asked %v", code, errOut, p.asked)
	}
}

// An answer given as a flag is checked like a typed one, but only once
// every question is answered: exit 2 naming it, nothing written.
func TestPromptsThenBadFlag(t *testing.T) {
	p := newFake(t, nil)
	parent := t.TempDir()
	code, _, errOut := zdgen(t, p, "new", "svc", "--grace-period", "3s", "--output", filepath.Join(parent, "svc"))
	if code != exitUsage || !strings.HasPrefix(errOut, "zdgen: grace-period: ") {
		t.Errorf("exit %d, %q; want 2 naming grace-period", code, errOut)
	}
	onlyEntries(t, parent)
}

// The real prompter on a pipe (survey cannot set raw mode there, and
// does not need to): a cancelled context ends a question that waits for
// a key, as SIGTERM does on a terminal.
func TestSurveyPrompterGivesUpOnCancel(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	out, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := surveyPrompter{ctx: ctx, stdio: survey.WithStdio(&keyboard{f: r, ctx: ctx}, out, out)}
	protocol, _ := spec.FieldByKey("protocol")

	// A key answers the question.
	if _, err := w.WriteString("\x1b[B\r"); err != nil { // down, Enter
		t.Fatal(err)
	}
	got, err := p.Ask(protocol, "http", func(string) error { return nil })
	if err != nil || got != "grpc" {
		t.Fatalf("Ask = %q, %v; want grpc", got, err)
	}

	// No key: cancelling ends the question.
	type result struct {
		answer string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		a, err := p.Ask(protocol, "http", func(string) error { return nil })
		done <- result{a, err}
	}()
	time.Sleep(20 * time.Millisecond) // let it wait for a key (the test passes either way)
	cancel()
	select {
	case r := <-done:
		if !errors.Is(r.err, errInterrupted) {
			t.Errorf("Ask = %q, %v; want errInterrupted", r.answer, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled question still waits for a key")
	}
}

// Keys typed just after the terminal's cursor report reach the prompt:
// survey reads the report through a buffer it then drops.
func TestKeyboardKeepsKeysAfterCursorReport(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	k := &keyboard{f: r, ctx: context.Background()}
	if _, err := w.WriteString("ab\x1b[12;34R\r"); err != nil { // typed ahead, the report, Enter: one read
		t.Fatal(err)
	}
	var typed bytes.Buffer
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	cursor := terminal.Cursor{In: k, Out: devNull}
	at, err := cursor.Location(&typed)
	if err != nil || at.X != 34 || at.Y != 12 {
		t.Fatalf("Location = %+v, %v", at, err)
	}
	if typed.String() != "ab" {
		t.Errorf("keys before the report: %q", typed.String())
	}
	next := make(chan string, 1)
	go func() {
		b := make([]byte, 16)
		n, _ := k.Read(b)
		next <- string(b[:n])
	}()
	select {
	case got := <-next:
		if got != "\r" {
			t.Errorf("after the report: %q; want the Enter typed after it", got)
		}
	case <-time.After(5 * time.Second):
		t.Error("the Enter typed after the report was lost")
	}
}

// The keyboard passes keys through, ends a waiting read when its context
// is done, and reports the end of input.
func TestKeyboard(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := &keyboard{f: r, ctx: ctx}
	if k.Fd() != r.Fd() {
		t.Error("Fd is not the terminal's: survey could not set raw mode")
	}
	defer w.Close()
	if _, err := w.WriteString("hello"); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 3)
	var got []byte
	for len(got) < 5 {
		n, err := k.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b[:n]...)
	}
	if string(got) != "hello" {
		t.Errorf("read %q", got)
	}

	done := make(chan error, 1)
	go func() {
		_, err := k.Read(b)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a read after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a read still waits after cancel")
	}

	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	k = &keyboard{f: r2, ctx: context.Background()}
	w2.Close()
	for i := 0; i < 2; i++ { // and stays ended
		if _, err := k.Read(b); err != io.EOF {
			t.Errorf("read %d at the end of input: %v, want EOF", i, err)
		}
	}
}

// Autoscaling answered, the replica count is not asked: the autoscaler
// sets it. The lock still records replicas, at its default.
func TestPromptsSkipReplicasWithAutoscale(t *testing.T) {
	p := newFake(t, map[string][]string{"autoscale": {"2-8"}})
	dir := filepath.Join(t.TempDir(), "svc")
	code, _, errOut := zdgen(t, p, "new", "svc", "--output", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if slices.Contains(p.asked, "replicas") || !slices.Contains(p.asked, "autoscale") {
		t.Errorf("asked %v: want autoscale asked and replicas not", p.asked)
	}
	if a := lockOf(t, dir).Answers; a.Autoscale != "2-8" || a.Replicas != 3 {
		t.Errorf("autoscale %q, replicas %d; want 2-8 and 3", a.Autoscale, a.Replicas)
	}
}
