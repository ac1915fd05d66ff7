package rehearse

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// WriteHTML writes a self-contained page about a rehearsal: the numbers,
// and a chart of request rate, failures and latency over time with each
// pod's lifecycle marked. The data is inlined as JSON and drawn by an
// inline script into SVG, so the page needs no network to be viewed.
func WriteHTML(w io.Writer, r *Result) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return reportPage.Execute(w, struct {
		R     *Result
		Mode  string
		Data  template.JS
		Codes string
		Kinds string
	}{
		R:     r,
		Mode:  map[bool]string{false: "protected", true: "naive (no preStop, no drain delay)"}[r.Naive],
		Data:  template.JS(data), // json.Marshal escapes <, > and &, so it cannot end the script
		Codes: joinCounts(r.Load.Codes),
		Kinds: joinCounts(r.Load.Errors),
	})
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// reportHTML is the page: an HTML template whose inline script draws the
// chart from the JSON that WriteHTML inlines.
//
//go:embed report.html
var reportHTML string

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":  func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) },
	"dur": func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() },
	"sec": func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) },
}).Parse(reportHTML))

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
