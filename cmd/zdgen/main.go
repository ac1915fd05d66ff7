// Command zdgen scaffolds Go services that deploy to Kubernetes with zero
// downtime: graceful shutdown, health endpoints, tuned manifests, and a
// README that explains every number.
//
//	zdgen new orders                 # asks for what it needs
//	zdgen new orders --yes           # accepts every default
//	zdgen new orders --replicas 5 --base-image scratch --yes --output ./orders
//	zdgen upgrade                    # to this version's templates, keeping edits
//	zdgen rehearse ./orders          # rolling updates on 127.0.0.1 under load
//
// Exit codes: 0 success, 1 failure, 2 bad usage or input, 130 interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// Stamped by the release build (goreleaser.yaml's ldflags). A build
// without them (go install, go build) reports what the go command
// recorded instead: see buildVersion.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// buildVersion is the version, commit and build date `zdgen version`
// prints: the release build's stamps, and where a build has none, what
// the go command recorded in the binary (info, nil if nothing). `go
// install ...@v0.9.1` records the module's version (printed without its
// "v", as the release stamps it); a build in a git clone records the
// commit, its time and whether the work tree had changes (vcs.* settings;
// Go 1.24 and later also make a version of them, +dirty when changed).
// The commit's time is not the build's, so it goes with the commit and
// the build date stays unknown.
func buildVersion(version, commit, date string, info *debug.BuildInfo) (string, string, string) {
	if info == nil {
		return version, commit, date
	}
	if v := info.Main.Version; version == "dev" && v != "" && v != "(devel)" {
		version = strings.TrimPrefix(v, "v")
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	if rev := vcs["vcs.revision"]; commit == "none" && rev != "" {
		commit = rev
		if t := vcs["vcs.time"]; t != "" {
			commit += " of " + t
		}
		if vcs["vcs.modified"] == "true" {
			commit += " (modified)"
		}
	}
	return version, commit, date
}

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// errInterrupted is returned when the user pressed Ctrl-C (or the process
// got SIGTERM) before anything was written.
var errInterrupted = errors.New("interrupted; nothing was written")

// interrupted is err, or errInterrupted when it came of Ctrl-C.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	return err
}

// usageError marks a bad command line: bad input (spec.IsInputError),
// exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (usageError) BadInput()       {}

// atMostOne accepts zero or one positional argument, named what in the
// error (NAME, DIR). Its refusal is a usage error, as every command's
// argument check's is (usageArgs).
func atMostOne(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return fmt.Errorf("%s takes at most one %s, got %d arguments", cmd.Name(), what, len(args))
		}
		return nil
	}
}

// usageArgs makes the refusal of every argument check in the tree below
// c a usage error: cobra's own checks (cobra.NoArgs, the completion
// commands') return plain errors.
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// unknownCommand is cobra's refusal of a command zdgen does not have
// (`zdgen bogus`), as a usage error: cobra's Find makes it a plain error
// before any command runs, so it is asked here first. A shell-completion
// request is left to cobra, which adds its command only as it executes.
func unknownCommand(root *cobra.Command, args []string) error {
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		return nil
	}
	if _, _, err := root.Find(args); err != nil {
		return usageError{err}
	}
	return nil
}

// dirArg is the command's DIR argument: the current directory without one.
func dirArg(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return "."
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, prompter: nil})
	stop()
	os.Exit(code)
}

// env is what a command may touch of the outside world, so tests can
// replace it.
type env struct {
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	prompter spec.Prompter // nil: use the terminal, if there is one
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := unknownCommand(root, args)
	if err == nil {
		err = boolValueAfterSpace(root, args)
	}
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(e.stderr, "zdgen:", err)
	return exitCode(err)
}

// boolValueAfterSpace refuses `--metrics false`: a boolean flag alone
// means true, so the word after it is not its value but an argument of
// its own, which would name the service "false" (or be one argument too
// many) while metrics stay on. A bare true or false (any case) right
// after a boolean flag is that mistake: no command takes it as an
// argument on purpose. The flag's value goes after "=".
func boolValueAfterSpace(root *cobra.Command, args []string) error {
	cmd, _, err := root.Find(args)
	if err != nil {
		return nil // a shell-completion request (unknownCommand)
	}
	for i := 0; i+1 < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break // what follows is arguments only
		}
		alone, ok := flagAt(cmd, arg)
		switch {
		case !ok:
		case alone == "":
			i++ // the flag's value, whatever it reads
		case strings.EqualFold(args[i+1], "true") || strings.EqualFold(args[i+1], "false"):
			v := args[i+1]
			return usageError{fmt.Errorf("%s %s: a boolean flag takes its value after \"=\": write %s=%s (%s alone means %s)", arg, v, arg, v, arg, alone)}
		}
	}
	return nil
}

// flagAt reports whether the word arg is one of cmd's flags without an
// "=value", and if so the value it means alone: "true" for a boolean
// flag, "" for one that takes the next word as its value.
func flagAt(cmd *cobra.Command, arg string) (alone string, ok bool) {
	switch {
	case strings.HasPrefix(arg, "--") && !strings.Contains(arg, "="):
		if fl := cmd.Flags().Lookup(arg[2:]); fl != nil {
			return fl.NoOptDefVal, true
		}
	case len(arg) == 2 && arg[0] == '-' && arg[1] != '-':
		if fl := cmd.Flags().ShorthandLookup(arg[1:]); fl != nil {
			return fl.NoOptDefVal, true
		}
	}
	return "", false
}

// exitCode is what the process exits with on err: interrupted, bad input
// of any kind (one that says so: spec.IsInputError), or a failure.
func exitCode(err error) int {
	switch {
	case errors.Is(err, errInterrupted), errors.Is(err, errRehearsalInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case spec.IsInputError(err):
		return exitUsage
	}
	return exitFailure
}

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "zdgen",
		Short: "Scaffold Go services that deploy to Kubernetes with zero downtime",
		Long: `zdgen writes a complete Go service — graceful shutdown, health endpoints,
a Dockerfile, tuned Kubernetes manifests, skaffold config, a load-test client
and a README that explains every number — that loses no request during a
rolling update.`,
		Example: `  zdgen new orders
  zdgen new orders --yes --output ./orders
  zdgen upgrade --set replicas=5
  zdgen rehearse ./orders
  zdgen version`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newNewCmd(e), newUpgradeCmd(e), newRehearseCmd(e), newOverlayCmd(), newVersionCmd())
	addCompletionAndHelp(root, e.stdout)
	usageArgs(root)
	return root
}

// addCompletionAndHelp adds cobra's own help and completion commands now,
// rather than when it executes, so that they get examples like every other
// command, and so that `zdgen completion SHELL` with an unknown SHELL is a
// usage error (exit 2) instead of help and success.
func addCompletionAndHelp(root *cobra.Command, stdout io.Writer) {
	root.SetOut(stdout) // the completion commands keep the writer they see now
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	examples := map[string]string{
		"help":                  "  zdgen help new",
		"completion":            "  source <(zdgen completion bash)\n  zdgen completion zsh > \"${fpath[1]}/_zdgen\"",
		"completion bash":       "  source <(zdgen completion bash)",
		"completion zsh":        "  zdgen completion zsh > \"${fpath[1]}/_zdgen\"",
		"completion fish":       "  zdgen completion fish | source",
		"completion powershell": "  zdgen completion powershell | Out-String | Invoke-Expression",
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if ex, ok := examples[path]; ok && c.Example == "" {
			c.Example = ex
		}
		if path == "completion" && !c.Runnable() {
			// Runnable, so that cobra checks its arguments (none: a shell
			// is a subcommand) and an unknown shell exits 2.
			c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print zdgen's version, commit and build date",
		Example: "  zdgen version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			v, c, d := buildVersion(version, commit, date, info)
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "zdgen %s (templates %s, commit %s, built %s)\n", v, render.Version, c, d)
			return err
		},
	}
}
