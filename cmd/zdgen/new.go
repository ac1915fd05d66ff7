package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/write"
)

type newOptions struct {
	output string
	config string
	yes    bool
	dryRun bool
	json   bool
	force  bool
	// overlay is the organisation overlay's source as given: a directory
	// or a module path@version.
	overlay string
}

func newNewCmd(e env) *cobra.Command {
	var o newOptions
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Generate a zero-downtime service",
		Long: `Generate a zero-downtime service in ./NAME (or --output).

On a terminal, zdgen asks for each answer, proposing a default. Without a
terminal it never asks: pass every answer as a flag or in --config, or add
--yes to accept the defaults for the rest. Flags override --config.

Nothing is written until every answer is valid and every file is rendered;
the tree is built aside and moved into place whole (into an existing
directory file by file, undone on failure). A non-empty output directory is
refused unless --force; a generated repository (one with .zdgen.yaml) is
refused even with --force: use zdgen upgrade there.`,
		Example: `  # Ask for everything (on a terminal):
  zdgen new orders

  # A pipeline: no prompts, defaults for whatever is not given:
  zdgen new orders --yes --replicas 5 --base-image scratch --output ./orders

  # With the organisation's overlay (its defaults, rules, files):
  zdgen new orders --yes --overlay example.com/platform/zdgen-overlay@v1.4.0

  # From an answers file, printing what would be written as JSON:
  zdgen new --config answers.yaml --yes --dry-run --json`,
		Args: atMostOne("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			given, err := givenAnswers(cmd, o.config, args)
			if err != nil {
				return err
			}
			return runNew(cmd, e, o, given)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "directory to write (default ./NAME)")
	f.StringVar(&o.config, "config", "", "YAML file of answers (keys as the flags: replicas: 5), or - for stdin; at most 1 MiB; flags override it")
	f.BoolVarP(&o.yes, "yes", "y", false, "accept the default for every answer not given; never prompt")
	f.BoolVar(&o.dryRun, "dry-run", false, "list what would be written; write nothing")
	f.BoolVar(&o.json, "json", false, "print a machine-readable summary: files, answers, every derived number")
	f.StringVar(&o.overlay, "overlay", "", "an organisation overlay: a directory (./dir) or a Go module path@version (fetched with the go command, as for a dependency); its defaults come before zdgen's, its rules must pass, its files and kustomize components are added")
	f.BoolVar(&o.force, "force", false, "write into a non-empty directory, replacing zdgen's files there (not a generated repository: use zdgen upgrade)")
	for _, fd := range spec.Fields {
		if fd.Key == "name" {
			continue // the positional argument
		}
		usage := fd.Help
		if def := shownDefault(fd); def != "" && !fd.Optional() {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		f.String(fd.Key, "", usage)
		if fd.Bool {
			f.Lookup(fd.Key).NoOptDefVal = "true" // --metrics alone means true
		}
		if values := completionValues(fd); len(values) > 0 {
			_ = cmd.RegisterFlagCompletionFunc(fd.Key, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return values, cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
	return cmd
}

// completionValues are the values shell completion offers for answer f
// (after --f, or upgrade's --set f=): its choices; the Kubernetes
// versions zdgen supports; autoscale's off and, described as such, an
// example of MIN-MAX. Nothing where the values are open (a port, a
// module path): the shell then offers nothing rather than file names.
func completionValues(f spec.Field) []string {
	switch {
	case len(f.Choices) > 0:
		return f.Choices
	case f.Key == "k8s-version":
		var vs []string
		for minor := spec.MinK8sMinor; minor <= spec.MaxK8sMinor; minor++ {
			vs = append(vs, fmt.Sprintf("1.%d", minor))
		}
		return vs
	case f.Key == "autoscale":
		return []string{spec.AutoscaleOff + "\tno autoscaler: replicas sets the pod count", "2-10\tMIN-MAX pods, for example 2-10"}
	}
	return nil
}

// shownDefault is the default --help shows for field f: its default with
// the answers before it at theirs, or, for an answer that applies only
// with another (the flush timeout, with tracing otlp), the default it
// takes then, and with what. The default of an answer not in effect
// (a flush timeout of 0s without tracing) would tell the reader nothing
// true.
func shownDefault(f spec.Field) string {
	base := spec.Defaults("NAME")
	if f.AppliesTo(&base) {
		return f.Default(&base)
	}
	for _, g := range spec.Fields {
		if g.Key == f.Key {
			break
		}
		for _, c := range g.Choices {
			scratch := base
			if g.Set(&scratch, c) == nil && f.AppliesTo(&scratch) {
				return fmt.Sprintf("%s with %s %s", f.Default(&scratch), g.Key, c)
			}
		}
	}
	return f.Default(&base)
}

// givenAnswers collects what the person said: the config file first, then
// flags, then the positional NAME. Values are still raw strings; each
// field's Set parses them.
func givenAnswers(cmd *cobra.Command, configPath string, args []string) (map[string]string, error) {
	given := map[string]string{}
	if configPath != "" {
		b, err := readConfig(cmd.Context(), configPath, cmd.InOrStdin())
		if err != nil {
			return nil, err
		}
		if given, err = spec.ParseAnswersFile(b); err != nil {
			return nil, fmt.Errorf("--config %s: %w", configPath, err)
		}
	}
	for _, fd := range spec.Fields {
		if fl := cmd.Flags().Lookup(fd.Key); fl != nil && fl.Changed {
			given[fd.Key] = fl.Value.String()
		}
	}
	if len(args) == 1 {
		given["name"] = args[0]
	}
	return given, nil
}

// maxConfigSize bounds what --config reads: an answers file is a few lines.
const maxConfigSize = 1 << 20

// readConfig reads --config: a regular file, or stdin for "-", at most
// maxConfigSize bytes. A device or a FIFO is refused, because it may never
// end or never answer; Ctrl-C while waiting for stdin returns at once.
func readConfig(ctx context.Context, name string, stdin io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := readConfigNow(name, stdin)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, errInterrupted
	}
}

func readConfigNow(name string, stdin io.Reader) ([]byte, error) {
	r, what := stdin, "--config - (stdin)"
	if name != "-" {
		what = "--config " + name
		// Stat before opening: opening a FIFO blocks until a writer comes.
		fi, err := os.Stat(name)
		if err != nil {
			return nil, usageError{fmt.Errorf("--config: %w", err)}
		}
		if !fi.Mode().IsRegular() {
			return nil, usageError{fmt.Errorf("%s: not a regular file (%s); give an answers file, or - to read stdin", what, fileKind(fi.Mode()))}
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, usageError{fmt.Errorf("--config: %w", err)}
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return nil, usageError{fmt.Errorf("%s: not a regular file; give an answers file, or - to read stdin", what)}
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", what, err)}
	}
	if len(b) > maxConfigSize {
		return nil, usageError{fmt.Errorf("%s: larger than the limit of 1 MiB; an answers file is a few lines", what)}
	}
	return b, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// resolveAnswers turns what was given into complete answers: each field in
// order is taken from given, else asked (on a terminal), else defaulted
// (with --yes). Without a terminal and without --yes, every missing answer
// is reported at once. With recorded answers (an upgrade), those are the
// defaults instead of zdgen's; otherwise an organisation overlay's (ov,
// nil without one) come before zdgen's, and a prompt checks its rules too.
func resolveAnswers(given map[string]string, p Prompter, yes bool, recorded *spec.Answers, ov *overlay.Applied) (spec.Answers, error) {
	var defaults map[string]string
	if ov != nil {
		defaults = ov.Defaults()
	}
	if p == nil && !yes {
		var missing []string
		base := spec.Defaults("")
		for _, f := range spec.Fields {
			if _, ok := given[f.Key]; !ok && !f.Optional() && f.AppliesTo(&base) {
				missing = append(missing, flagName(f.Key))
			}
		}
		if len(missing) > 0 {
			return spec.Answers{}, usageError{fmt.Errorf("stdin is not a terminal, so zdgen will not ask; missing: %s (give them, or add --yes to accept the defaults)", strings.Join(missing, ", "))}
		}
	}
	var a spec.Answers
	for _, f := range spec.Fields {
		def := f.Default(&a)
		if v, ok := defaults[f.Key]; ok && recorded == nil {
			// The service's name is the first answer.
			def = strings.ReplaceAll(v, overlay.NamePlaceholder, a.Name)
		}
		applies := f.AppliesTo(&a)
		// A recorded answer is the default unless it no longer applies
		// (the flush timeout of tracing just turned off, or on), or was
		// itself the default of answers that changed (Carried).
		if recorded != nil && applies && f.AppliesTo(recorded) {
			def = f.Carried(&a, recorded)
		}
		// Where the answers before it changed whether it applies, it
		// keeps its recorded value if that still passes: replicas is
		// kept while autoscale is on and counts again when autoscale
		// turns off. A value that does not fit the change (a flush
		// timeout as tracing turns off, or 0s as it turns on) takes the
		// default.
		if recorded != nil && !(applies && f.AppliesTo(recorded)) {
			scratch := a
			if f.Set(&scratch, f.Get(recorded)) == nil {
				def = f.Get(recorded)
			}
		}
		v, ok := given[f.Key]
		switch {
		case ok:
			if err := f.Set(&a, v); err != nil {
				return a, err
			}
			continue
		case f.Key == "name" && (p == nil || yes):
			return a, usageError{fmt.Errorf("missing NAME: zdgen new NAME")}
		case p == nil || yes || f.Override() || !applies:
			v = def
		default:
			// Each answer is checked alone and against the answers before
			// it, so a broken rule is asked again at once.
			check := func(s string) error {
				scratch := a
				if err := f.Set(&scratch, s); err != nil {
					return err
				}
				if err := spec.CheckSoFar(scratch, f.Key); err != nil {
					return err
				}
				if ov != nil {
					return ov.CheckAnswer(scratch, f.Key)
				}
				return nil
			}
			var err error
			if v, err = p.Ask(f, def, check); err != nil {
				return a, err
			}
		}
		if err := f.Set(&a, v); err != nil {
			return a, spec.ExplainDefault(f, &a, err)
		}
	}
	return a, nil
}

// replicasUnused refuses a replica count typed on the command line
// (--replicas, upgrade's --set replicas=N) for answers with autoscale on:
// the autoscaler sets the pod count from its MIN, so the number would be
// recorded and not used, and nothing would say so. fix says how to mean
// one or the other. A count from --config is taken: a .zdgen.yaml given
// as answers records replicas beside autoscale, kept for when autoscale
// turns off.
func replicasUnused(a spec.Answers, fix string) error {
	if a.Autoscale == spec.AutoscaleOff {
		return nil
	}
	lo, hi, err := spec.ParseAutoscale(a.Autoscale)
	if err != nil {
		return err
	}
	return &spec.InputError{Field: "replicas", Value: strconv.Itoa(a.Replicas), Rule: fmt.Sprintf("not used with autoscale %s: the autoscaler sets the pod count, from %d to %d pods; %s", a.Autoscale, lo, hi, fix)}
}

func flagName(key string) string {
	if key == "name" {
		return "NAME"
	}
	return "--" + key
}

func runNew(cmd *cobra.Command, e env, o newOptions, given map[string]string) error {
	prompter := e.prompter
	if prompter == nil && !o.yes {
		prompter = terminalPrompter(cmd.Context(), e.stdin, e.stdout, e.stderr)
	}
	ov, err := openOverlay(cmd.Context(), o.overlay)
	if err != nil {
		return err
	}
	a, err := resolveAnswers(given, prompter, o.yes, nil, ov)
	if err != nil {
		return err
	}
	if cmd.Flags().Changed("replicas") {
		if err := replicasUnused(a, "leave --replicas out, or give --autoscale off"); err != nil {
			return err
		}
	}
	dir := o.output
	if dir == "" {
		dir = a.Name
	}
	if ov != nil {
		ov.Record.Dir = overlayDir(dir, o.overlay)
	}
	plan, files, err := generator.GenerateWith(cmd.Context(), a, ov)
	if err != nil {
		if cmd.Context().Err() != nil {
			return errInterrupted // while an overlay rendered
		}
		return err
	}
	if err := checkOverlaid(ov, files); err != nil {
		return err
	}
	if o.dryRun {
		if err := write.CheckTarget(dir, o.force); err != nil {
			return err
		}
		if err := write.CheckPaths(dir, files); err != nil {
			return err
		}
	} else {
		if err := write.Write(cmd.Context(), dir, files, o.force); err != nil {
			if cmd.Context().Err() != nil {
				return errInterrupted
			}
			return err
		}
	}
	if w := localOverlayInCI(ov, a, o.overlay); w != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "zdgen: warning:", w)
	}
	if o.json {
		return writeJSON(cmd.OutOrStdout(), dir, o.dryRun, plan, files)
	}
	return writeSummary(cmd.OutOrStdout(), dir, o.dryRun, files)
}

// localOverlayInCI warns of a service generated from the local overlay
// directory source, outside the repository, with the CI workflow: the
// workflow's zdgen upgrade --check job runs in a checkout of the
// repository alone, where the directory is not, so it fails from the
// first push. The way out is a published release of the overlay, which
// the job fetches by version like a dependency.
func localOverlayInCI(ov *overlay.Applied, a spec.Answers, source string) string {
	if ov == nil || a.CI != spec.CIGitHub || ov.Record.Dir == "" {
		return ""
	}
	if d := ov.Record.Dir; !filepath.IsAbs(filepath.FromSlash(d)) && d != ".." && !strings.HasPrefix(d, "../") {
		return "" // inside the repository: the checkout has it
	}
	release := "MODULE@" + ov.Version
	publish := "publish the overlay as a Go module (a go.mod, and the tag " + ov.Version + ")"
	if ov.Module != "" {
		release = ov.Module + "@" + ov.Version
		publish = "publish the overlay (tag " + ov.Version + " of " + ov.Module + ")"
	}
	return fmt.Sprintf("the overlay is the local directory %s, which the CI workflow's zdgen upgrade --check job cannot find: it runs in a checkout of this repository alone, so it fails until you %s and run zdgen upgrade --overlay %s here (the workflow is .github/workflows/ci.yaml; --ci none generates none)", source, publish, release)
}

type jsonFile struct {
	Path   string `json:"path"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
	Owner  string `json:"owner"`
}

func writeJSON(w io.Writer, dir string, dryRun bool, plan *spec.Plan, files []spec.File) error {
	out := struct {
		Output  string     `json:"output"`
		DryRun  bool       `json:"dryRun"`
		Version string     `json:"generatorVersion"`
		Plan    *spec.Plan `json:"plan"`
		Files   []jsonFile `json:"files"`
	}{Output: dir, DryRun: dryRun, Version: render.Version, Plan: plan}
	for _, f := range files {
		out.Files = append(out.Files, jsonFile{f.Path, len(f.Content), f.Sum(), f.Owner})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeSummary(w io.Writer, dir string, dryRun bool, files []spec.File) error {
	verb := "Wrote"
	if dryRun {
		verb = "Would write"
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = fmt.Sprintf("  %s (%d bytes)", f.Path, len(f.Content))
	}
	sort.Strings(paths)
	_, err := fmt.Fprintf(w, "%s %d files to %s:\n%s\n", verb, len(files), dir, strings.Join(paths, "\n"))
	if err == nil && !dryRun {
		_, err = fmt.Fprintf(w, "\nNext: cd %s && make test && make run\n", filepath.Clean(dir))
	}
	return err
}
