package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/workload"
)

func newOverlayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "overlay",
		Short: "Work on an organisation overlay",
		Long: `An organisation overlay is a platform team's own files, default answers,
rules and kustomize components on top of zdgen's templates, versioned as a
Go module (zdgen new --overlay). These commands help the team that writes
one.`,
		Example: "  zdgen overlay check ./zdgen-overlay",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(newOverlayCheckCmd())
	return cmd
}

// checkName is the service name an overlay is checked under.
const checkName = "overlay-check"

// checkVariants are the answer sets an overlay is checked on, for each
// protocol, on top of its defaults: as generated, and with every optional
// part zdgen adds to the manifests and the code.
var checkVariants = []map[string]string{
	{},
	{"autoscale": "2-4", "expose": "gateway", "service-monitor": "true", "tracing": "otlp", "prestop": "exec"},
	{"replicas": "1", "expose": "ingress", "metrics": "false"},
}

func newOverlayCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check [DIR]",
		Short: "Check an overlay as the services that use it will see it",
		Long: `Check the overlay in DIR (default .) before publishing it: zdgen reads it as
zdgen new --overlay does (overlay.yaml, every template's syntax, every
component, the limits), checks that it supports this zdgen's templates,
then renders it on services of both protocols with its defaults, as
generated and with the optional parts (an autoscaler, a Gateway API route
or an Ingress, a ServiceMonitor, tracing, an exec preStop hook, one
replica). For each it builds deploy/k8s with kustomize, the overlay's
components included, and checks the timing model on the result, as zdgen
new does. Its rules are applied to each answer set and reported: a rule
that refuses its own defaults (say, a module pattern with no module
default) means each service must give that answer. Templates render
under the bounds every use of the overlay has (on their work, their
time, what they write and the values their functions make), so a
template that loops without end or asks for gigabytes fails here, named.

It prints the overlay's checksum: the h1: hash go.sum records for the
module release when the directory is published unchanged as its version,
and that .zdgen.yaml records.

Exit codes: 0 the overlay passes, 2 it does not (the first problem is
named, with the answer set), 130 interrupted.`,
		Example: `  # In the overlay's own CI, before tagging a release:
  zdgen overlay check .`,
		Args: atMostOne("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOverlayCheck(cmd.Context(), cmd.OutOrStdout(), dirArg(args))
		},
	}
}

func runOverlayCheck(ctx context.Context, w io.Writer, dir string) error {
	o, err := overlay.Load(dir)
	if err != nil {
		return err
	}
	if err := o.Supports(render.Version); err != nil {
		return err
	}
	ov, err := overlay.Apply(o, "", dir)
	if err != nil {
		return err
	}
	module := "no go.mod: it can be used from a directory, not fetched by version"
	if o.Module != "" {
		module = "go.sum's hash of " + o.Module + "@" + o.Version + " once published unchanged"
	}
	fmt.Fprintf(w, "overlay %s (%s) supports zdgen templates %s\n  checksum %s (%s)\n", o.ID(), dir, render.Version, ov.Record.Sum, module)
	for _, protocol := range []string{spec.ProtocolHTTP, spec.ProtocolGRPC} {
		for _, variant := range checkVariants {
			given := overlay.WithName(o.Defaults(), checkName)
			maps.Copy(given, variant)
			given["name"], given["protocol"] = checkName, protocol
			label := describeSet(protocol, variant)
			line, err := checkSet(ctx, ov, given)
			if err != nil {
				if ctx.Err() != nil {
					return errInterrupted
				}
				return usageError{fmt.Errorf("overlay %s%s, %s: %w", o.ID(), overlayFault(ov, err), label, err)}
			}
			fmt.Fprintf(w, "  %s: %s\n", label, line)
		}
	}
	fmt.Fprintf(w, "%s passes.\n", o.ID())
	return nil
}

// checkSet renders the overlay on one answer set and checks the built
// manifests; it returns what it found.
func checkSet(ctx context.Context, ov *overlay.Applied, given map[string]string) (string, error) {
	a, err := spec.Resolve(given)
	if err != nil {
		return "", err
	}
	p, err := spec.NewPlan(a)
	if err != nil {
		return "", err
	}
	files, err := overlay.RenderService(ctx, render.Version, p, ov)
	if err != nil {
		return "", err
	}
	if err := workload.CheckTree(spec.FS(files)); err != nil {
		return "", err
	}
	plain, err := render.Render(p)
	if err != nil {
		return "", err
	}
	zdgens := map[string]bool{}
	for _, f := range plain {
		zdgens[f.Path] = true
	}
	own, replaced := 0, 0
	for _, f := range files {
		switch {
		case !zdgens[f.Path]:
			own++
		case f.Path != spec.LockPath && f.Path != overlay.KustomizationPath && !bytesEqual(f, plain):
			replaced++
		}
	}
	comps := "components"
	if len(ov.Record.Components) == 1 {
		comps = "component"
	}
	line := fmt.Sprintf("%d files (%d of its own, %d replacing zdgen's), %d %s; timing model holds", len(files), own, replaced, len(ov.Record.Components), comps)
	if err := ov.Check(a); err != nil {
		line += "; its rules refuse these answers (" + err.Error() + "): a service must give its own"
	}
	return line, nil
}

// bytesEqual reports whether f has the same content as the file of the
// same path in files.
func bytesEqual(f spec.File, files []spec.File) bool {
	for _, g := range files {
		if g.Path == f.Path {
			return string(g.Content) == string(f.Content)
		}
	}
	return false
}

// describeSet names an answer set in the report: protocol, then the
// answers the variant sets, sorted.
func describeSet(protocol string, variant map[string]string) string {
	keys := make([]string, 0, len(variant))
	for k := range variant {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := []string{protocol}
	for _, k := range keys {
		parts = append(parts, k+"="+variant[k])
	}
	if len(variant) == 0 {
		parts = append(parts, "defaults")
	}
	return strings.Join(parts, " ")
}
