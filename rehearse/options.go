package rehearse

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/zdgen/zdgen/generator/spec"
)

// fdHeadroom is what this process keeps open besides the proxy's two
// descriptors per connection: the pods' pipes, probes, the build.
const fdHeadroom = 256

// check validates what needs no repository, every problem named by its
// zdgen rehearse flag, before anything is read, built or run.
func (o *Options) check() error { return o.validate(true) }

// Validate checks the options any rehearsal needs, local or on a cluster,
// each problem named by its zdgen rehearse flag. Run checks more: that
// this machine can hold --conns connections through its Service stand-in.
func (o *Options) Validate() error { return o.validate(false) }

func (o *Options) validate(local bool) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !(o.Rate > 0) || math.IsInf(o.Rate, 0) {
		bad("--rate %v: want a number of requests per second above 0", o.Rate)
	}
	if o.Conns < 1 {
		bad("--conns %d: want at least 1", o.Conns)
	} else if limit, ok := openFileLimit(); local && ok && uint64(o.Conns) > (limit-min(limit, fdHeadroom))/2 {
		bad("--conns %d: the Service stand-in holds two descriptors per connection, and this process may have %d open files (RLIMIT_NOFILE, its hard limit): at most %d connections; raise the limit (ulimit -n) or use fewer",
			o.Conns, limit, (limit-min(limit, fdHeadroom))/2)
	}
	if o.Rollouts < 1 {
		bad("--rollouts %d: want at least 1", o.Rollouts)
	}
	if o.Replicas < 0 || o.Replicas > spec.MaxReplicas {
		bad("--replicas %d: want 1 to %d, or 0 for the Deployment's", o.Replicas, spec.MaxReplicas)
	}
	if o.Lag != nil && *o.Lag < 0 {
		bad("--lag %s: a propagation lag cannot be negative", *o.Lag)
	}
	if o.WorkMS < 0 {
		bad("--work-ms %d: want 0 or more milliseconds", o.WorkMS)
	}
	if o.Report != "" {
		if err := CheckReport(o.Report); err != nil {
			bad("--report %s: %v", o.Report, err)
		}
	}
	if len(problems) > 0 {
		return inputErrorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// CheckReport makes sure the report can be written once the rehearsal
// has run: an .html name in a directory that exists and takes new files.
func CheckReport(path string) error {
	if !strings.HasSuffix(strings.ToLower(path), ".html") {
		return fmt.Errorf("the report is an HTML page; name it FILE.html")
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("a directory")
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("its directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".zdgen-report-*.html")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	_ = f.Close()
	return os.Remove(f.Name())
}

// WriteReport writes the HTML report to path: to a temporary file in the
// same directory first, renamed into place when complete, so a failed
// write leaves no half page.
func WriteReport(path string, r *Result) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".zdgen-report-*.html")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if err := WriteHTML(f, r); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
