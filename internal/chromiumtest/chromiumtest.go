// Package chromiumtest renders pages in headless Chromium for tests: it
// returns the DOM after the page's scripts ran, so a test can check what
// they drew. Like net/http/httptest it takes a testing.TB, and its name
// says it is for tests only.
package chromiumtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// DumpDOM loads the file at page in headless Chromium, with networking
// off, and returns the DOM after its scripts ran. Without Chromium the
// test skips, except in CI (CI=true), where it fails.
func DumpDOM(t testing.TB, page string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (CI installs Debian's chromium)")
		}
		t.Skip("chromium is not installed")
	}
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The flags keep Chromium off the network: a report must render with
	// none, and this machine's closed network refuses Chromium's own calls.
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+abs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}
