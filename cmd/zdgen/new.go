package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
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
		b, err := spec.ReadAnswersFile(cmd.Context(), configPath, cmd.InOrStdin())
		if err != nil {
			return nil, interrupted(cmd.Context(), err)
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

func flagName(key string) string {
	if key == "name" {
		return "NAME"
	}
	return "--" + key
}

func runNew(cmd *cobra.Command, e env, o newOptions, given map[string]string) error {
	ctx := cmd.Context()
	r := spec.Resolving{Ask: e.prompter, TakeDefaults: o.yes}
	if r.Ask == nil && !o.yes {
		r.Ask = terminalPrompter(ctx, e.stdin, e.stdout, e.stderr)
	}
	var ov *overlay.Applied
	if o.overlay != "" {
		var err error
		if ov, err = overlay.OpenSource(ctx, o.overlay); err != nil {
			return interrupted(ctx, err)
		}
	}
	a, err := generator.ResolveAnswers(given, r, ov)
	if err != nil {
		return missingAnswers(err, o.yes)
	}
	if cmd.Flags().Changed("replicas") {
		if err := spec.ReplicasUsed(a, "leave --replicas out, or give --autoscale off"); err != nil {
			return err
		}
	}
	dir := o.output
	if dir == "" {
		dir = a.Name
	}
	if ov != nil {
		ov.Locate(dir)
	}
	plan, files, err := generator.Compose(ctx, generator.Service{Answers: a, Overlay: ov})
	if err != nil {
		return interrupted(ctx, err) // an overlay may have been rendering
	}
	if o.dryRun {
		if err := write.CheckTarget(dir, o.force); err != nil {
			return err
		}
		if err := write.CheckPaths(dir, files); err != nil {
			return err
		}
	} else if err := write.Write(ctx, dir, files, o.force); err != nil {
		return interrupted(ctx, err)
	}
	if w := ov.CIWarning(a, o.overlay); w != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "zdgen: warning:", w)
	}
	if o.json {
		return writeJSON(cmd.OutOrStdout(), dir, o.dryRun, plan, files)
	}
	return writeSummary(cmd.OutOrStdout(), dir, o.dryRun, files)
}

// missingAnswers says what to do about answers that were not given: the
// name on the command line, or, without a terminal to ask on, every
// missing one at once.
func missingAnswers(err error, yes bool) error {
	var me *spec.MissingError
	if !errors.As(err, &me) {
		return err
	}
	if yes {
		return usageError{fmt.Errorf("missing NAME: zdgen new NAME")}
	}
	flags := make([]string, len(me.Keys))
	for i, k := range me.Keys {
		flags[i] = flagName(k)
	}
	return usageError{fmt.Errorf("stdin is not a terminal, so zdgen will not ask; missing: %s (give them, or add --yes to accept the defaults)", strings.Join(flags, ", "))}
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
