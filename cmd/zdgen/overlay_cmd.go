package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/render"
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
	c, err := generator.CheckOverlay(ctx, dir)
	if err != nil {
		return interrupted(ctx, err)
	}
	ov := c.Overlay
	module := "no go.mod: it can be used from a directory, not fetched by version"
	if ov.Module != "" {
		module = "go.sum's hash of " + ov.Module + "@" + ov.Version + " once published unchanged"
	}
	fmt.Fprintf(w, "overlay %s (%s) supports zdgen templates %s\n  checksum %s (%s)\n", ov.ID(), dir, render.Version, ov.Record.Sum, module)
	comps := "components"
	if len(ov.Record.Components) == 1 {
		comps = "component"
	}
	for _, set := range c.Sets {
		line := fmt.Sprintf("%d files (%d of its own, %d replacing zdgen's), %d %s; timing model holds", set.Files, set.Own, set.Replaced, len(ov.Record.Components), comps)
		if set.Refused != nil {
			line += "; its rules refuse these answers (" + set.Refused.Error() + "): a service must give its own"
		}
		fmt.Fprintf(w, "  %s: %s\n", set.Label, line)
	}
	fmt.Fprintf(w, "%s passes.\n", ov.ID())
	return nil
}
