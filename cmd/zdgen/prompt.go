package main

import (
	"errors"
	"io"
	"os"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
	"golang.org/x/term"

	"github.com/zdgen/zdgen/generator"
)

// Prompter asks for one answer. It proposes def, and must keep asking
// until check accepts the answer (or the person gives up: Ctrl-C).
type Prompter interface {
	Ask(f generator.Field, def string, check func(string) error) (string, error)
}

// otherImage is the base-image choice that asks for a reference.
const otherImage = "other (an image reference)"

// terminalPrompter returns a survey-backed prompter when stdin and stdout
// are terminals, and nil otherwise: survey fails on a non-terminal, and a
// pipeline must never wait for an answer that cannot come.
func terminalPrompter(stdin io.Reader, stdout, stderr io.Writer) Prompter {
	in, ok1 := stdin.(*os.File)
	out, ok2 := stdout.(*os.File)
	if !ok1 || !ok2 || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return nil
	}
	errOut, _ := stderr.(*os.File)
	if errOut == nil {
		errOut = out
	}
	return surveyPrompter{stdio: survey.WithStdio(in, out, errOut)}
}

type surveyPrompter struct{ stdio survey.AskOpt }

func (s surveyPrompter) Ask(f generator.Field, def string, check func(string) error) (string, error) {
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
		options := f.Choices
		if f.Key == "base-image" {
			options = append(append([]string{}, f.Choices...), otherImage)
		}
		q := &survey.Select{Message: f.Prompt + ":", Options: options, Help: f.Help}
		if contains(options, def) {
			q.Default = def
		}
		err = survey.AskOne(q, &answer, validate, s.stdio)
		if err == nil && answer == otherImage {
			err = survey.AskOne(&survey.Input{Message: "Image reference:", Help: f.Help}, &answer, validate, s.stdio)
		}
	} else {
		err = survey.AskOne(&survey.Input{Message: f.Prompt + ":", Default: def, Help: f.Help}, &answer, validate, s.stdio)
	}
	if errors.Is(err, terminal.InterruptErr) {
		return "", errInterrupted
	}
	return answer, err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
