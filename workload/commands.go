package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// execs lists the container's exec commands, each with what runs it, as
// the messages name them.
func (w *Workload) execs() (where []string, argvs [][]string) {
	ct := w.Container
	if lc := ct.Lifecycle; lc != nil && lc.PreStop != nil && lc.PreStop.Exec != nil {
		where, argvs = append(where, "preStop"), append(argvs, lc.PreStop.Exec.Command)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"startupProbe", ct.StartupProbe}, {"readinessProbe", ct.ReadinessProbe}, {"livenessProbe", ct.LivenessProbe}} {
		if p.probe != nil && p.probe.Exec != nil {
			where, argvs = append(where, p.name), append(argvs, p.probe.Exec.Command)
		}
	}
	return where, argvs
}

func commandKey(argv []string) string { return strings.Join(argv, "\x00") }

// judgeCommands reads the Dockerfile when the container has an exec hook
// or probe and judges each command against the image: in a cluster it
// runs there or nowhere. A command the image lacks, or one the rehearsal
// cannot tell about (a base image it does not model), is an input error
// naming the command and the image; nothing runs it on this machine.
func (w *Workload) judgeCommands() error {
	where, argvs := w.execs()
	if len(argvs) == 0 {
		return nil
	}
	img, err := loadImage(w.fsys)
	if err != nil {
		if w.rehearsal {
			return inputErrorf("%s runs commands in the image (%s), and the rehearsal judges them against the image the Dockerfile builds: %w", w.deployment(), strings.Join(where, ", "), err)
		}
		return inputErrorf("%s runs commands in the image (%s), which zdgen judges against the image the Dockerfile builds: %w", w.deployment(), strings.Join(where, ", "), err)
	}
	w.Image = img
	w.commands = map[string]Command{}
	envPath, _ := w.env("PATH")
	var problems []string
	for i, argv := range argvs {
		ec, err := img.command(w.Answers.Name, argv, envPath)
		if err != nil {
			consequence := "in a cluster the probe always fails"
			if where[i] == "preStop" {
				consequence = "in a cluster the hook fails and SIGTERM comes at once"
			}
			var nm *notModelled
			if errors.As(err, &nm) {
				consequence = "the rehearsal does not run what it cannot judge"
				if !w.rehearsal {
					consequence = "zdgen rehearse does not run what zdgen cannot judge"
				}
				if p := img.servicePath(w.Answers.Name); p != "" {
					consequence += fmt.Sprintf("; the service's own binary (%s) runs in any image", p)
				}
			}
			cmd, _ := json.Marshal(argv)
			problems = append(problems, fmt.Sprintf("%s exec %s: %v; %s", where[i], cmd, err, consequence))
			continue
		}
		w.commands[commandKey(argv)] = ec
		if where[i] == "preStop" {
			w.PreStop = ec.PreStop
		}
	}
	if len(problems) > 0 {
		if w.rehearsal {
			return inputErrorf("%s: exec commands the rehearsal cannot run as the image would:\n  - %s", w.deployment(), strings.Join(problems, "\n  - "))
		}
		return inputErrorf("%s: exec commands that would not run in the image, or that zdgen cannot judge:\n  - %s", w.deployment(), strings.Join(problems, "\n  - "))
	}
	return nil
}

// Command is how the rehearsal runs argv "in the container": as judged
// when the workload was read, or judged now against its Image.
func (w *Workload) Command(argv []string) (Command, error) {
	if ec, ok := w.commands[commandKey(argv)]; ok {
		return ec, nil
	}
	if w.Image == nil {
		return Command{}, errors.New("not judged against the image")
	}
	envPath, _ := w.env("PATH")
	return w.Image.command(w.Answers.Name, argv, envPath)
}
