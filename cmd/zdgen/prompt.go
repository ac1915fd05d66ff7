package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
	"github.com/zdgen/zdgen/generator/spec"
	"golang.org/x/term"
)

// otherImage is the base-image choice that asks for a reference.
const otherImage = "other (an image reference)"

// terminalPrompter returns a survey-backed prompter when stdin and stdout
// are terminals, and nil otherwise: survey fails on a non-terminal, and a
// pipeline must never wait for an answer that cannot come. A prompt gives
// up as soon as ctx is done.
func terminalPrompter(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) spec.Prompter {
	in, ok1 := stdin.(*os.File)
	out, ok2 := stdout.(*os.File)
	if !ok1 || !ok2 || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return nil
	}
	errOut, _ := stderr.(*os.File)
	if errOut == nil {
		errOut = out
	}
	return surveyPrompter{ctx: ctx, stdio: survey.WithStdio(&keyboard{f: in, ctx: ctx}, out, errOut)}
}

type surveyPrompter struct {
	ctx   context.Context
	stdio survey.AskOpt
}

// Ask asks on the terminal. main turns SIGINT and SIGTERM into ctx, so a
// signal at a prompt (SIGTERM; SIGINT when Ctrl-C comes while the terminal
// is not in raw mode) ends survey's read of the keyboard: survey then puts
// the terminal back itself, and Ask reports the interruption.
func (s surveyPrompter) Ask(f spec.Field, def string, check func(string) error) (string, error) {
	answer, err := s.ask(f, def, check)
	if err != nil && s.ctx.Err() != nil {
		return "", errInterrupted
	}
	return answer, err
}

// keyboard is survey's input: the terminal, read in a goroutine so that a
// read waiting for a key ends when ctx is done. (A read of the terminal
// itself cannot be woken; leaving survey blocked in one would swallow the
// signal, and leave the terminal raw if survey had not set it yet.)
type keyboard struct {
	f       *os.File
	ctx     context.Context
	start   sync.Once
	chunks  chan keys
	pending []byte
	err     error
}

type keys struct {
	b   []byte
	err error
}

// Fd is the terminal's, for survey's raw mode and size.
func (k *keyboard) Fd() uintptr { return k.f.Fd() }

func (k *keyboard) Read(p []byte) (int, error) {
	k.start.Do(func() {
		k.chunks = make(chan keys)
		go func() {
			for {
				b := make([]byte, 256)
				n, err := k.f.Read(b)
				k.chunks <- keys{b[:n], err}
				if err != nil {
					return
				}
			}
		}()
	})
	if err := k.ctx.Err(); err != nil {
		return 0, err
	}
	if len(k.pending) == 0 {
		if k.err != nil {
			return 0, k.err
		}
		select {
		case c := <-k.chunks:
			k.pending, k.err = c.b, c.err
			if len(c.b) == 0 {
				return 0, c.err
			}
		case <-k.ctx.Done():
			return 0, k.ctx.Err()
		}
	}
	// Hand out keys up to the first 'R' at most: survey reads the terminal's
	// cursor report (ESC[row;colR) through a buffer it then drops, so keys
	// typed just after the report, in the same read, would be lost.
	b := k.pending
	if i := bytes.IndexByte(b, 'R'); i >= 0 {
		b = b[:i+1]
	}
	n := copy(p, b)
	k.pending = k.pending[n:]
	return n, nil
}

func (s surveyPrompter) ask(f spec.Field, def string, check func(string) error) (string, error) {
	validate := survey.WithValidator(func(v any) error {
		if o, ok := v.(survey.OptionAnswer); ok {
			v = o.Value
		}
		if v == otherImage {
			return nil
		}
		return check(v.(string))
	})
	var answer string
	var err error
	if len(f.Choices) > 0 {
		options := selectOptions(f, def)
		q := &survey.Select{Message: f.Prompt + ":", Options: options, Help: f.Help}
		if contains(options, def) {
			q.Default = def
		}
		err = survey.AskOne(q, &answer, validate, s.stdio)
		if err == nil && answer == otherImage {
			// Prefilled with the proposed reference, so that changing
			// its tag is an edit, not a retype.
			in := &survey.Input{Message: "Image reference:", Help: f.Help}
			if !contains(f.Choices, def) {
				in.Default = def
			}
			err = survey.AskOne(in, &answer, validate, s.stdio)
		}
	} else {
		err = survey.AskOne(&survey.Input{Message: f.Prompt + ":", Default: def, Help: f.Help}, &answer, validate, s.stdio)
	}
	if errors.Is(err, terminal.InterruptErr) {
		return "", errInterrupted
	}
	return answer, err
}

// selectOptions are the options a list offers for field f when def is
// proposed. The base image takes any reference besides its shorthands,
// so a proposed reference that is none of them (the recorded answer in
// an upgrade, an overlay's default, a flag given before) comes first, as
// the default: Enter keeps it, where preselecting a shorthand would
// replace it without a word. "other" asks for a reference.
func selectOptions(f spec.Field, def string) []string {
	if f.Key != "base-image" {
		return f.Choices
	}
	var options []string
	if def != "" && !contains(f.Choices, def) {
		options = append(options, def)
	}
	return append(append(options, f.Choices...), otherImage)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
