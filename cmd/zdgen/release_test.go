package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// goreleaserConfig is the part of goreleaser.yaml (v2) that decides what is
// built and how.
type goreleaserConfig struct {
	Version int `json:"version"`
	Builds  []struct {
		ID      string   `json:"id"`
		Main    string   `json:"main"`
		Binary  string   `json:"binary"`
		Env     []string `json:"env"`
		Flags   []string `json:"flags"`
		Ldflags []string `json:"ldflags"`
		Goos    []string `json:"goos"`
		Goarch  []string `json:"goarch"`
	} `json:"builds"`
	Checksum struct {
		NameTemplate string `json:"name_template"`
	} `json:"checksum"`
}

func readGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	b, err := os.ReadFile("../../goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("goreleaser.yaml: %v", err)
	}
	return c
}

// The release matrix is the one promised (linux, darwin, windows x amd64,
// arm64, with checksums), and it builds: every target the config names is
// cross-compiled here with the config's own flags and ldflags, since
// goreleaser itself cannot be installed from the module proxy everywhere.
func TestReleaseMatrixCrossCompiles(t *testing.T) {
	c := readGoreleaser(t)
	if c.Version != 2 || len(c.Builds) != 1 || c.Checksum.NameTemplate == "" {
		t.Fatalf("goreleaser.yaml: want version 2, one build and checksums: %+v", c)
	}
	b := c.Builds[0]
	if strings.Join(b.Goos, ",") != "linux,darwin,windows" || strings.Join(b.Goarch, ",") != "amd64,arm64" {
		t.Errorf("matrix %v x %v, want linux,darwin,windows x amd64,arm64", b.Goos, b.Goarch)
	}
	if testing.Short() {
		t.Skip("cross-compiles six targets")
	}
	ldflags := strings.NewReplacer("{{.Version}}", "1.2.3", "{{.Commit}}", "abc1234", "{{.Date}}", "2026-01-02T03:04:05Z").Replace(strings.Join(b.Ldflags, " "))
	out := t.TempDir()
	for _, goos := range b.Goos {
		for _, goarch := range b.Goarch {
			bin := filepath.Join(out, goos+"-"+goarch, b.Binary)
			args := append(append([]string{"build"}, b.Flags...), "-ldflags", ldflags, "-o", bin, "../../"+strings.TrimPrefix(b.Main, "./"))
			cmd := exec.Command("go", args...)
			cmd.Env = append(append(os.Environ(), b.Env...), "GOOS="+goos, "GOARCH="+goarch)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s/%s: go %s: %v\n%s", goos, goarch, strings.Join(args, " "), err, msg)
			}
		}
	}
	// The stamp reaches `zdgen version`.
	native := filepath.Join(out, runtime.GOOS+"-"+runtime.GOARCH, b.Binary)
	if _, err := os.Stat(native); err != nil {
		t.Skipf("no %s/%s build to run", runtime.GOOS, runtime.GOARCH)
	}
	got, err := exec.Command(native, "version").Output()
	if err != nil || !strings.Contains(string(got), "zdgen 1.2.3") || !strings.Contains(string(got), "abc1234") || !strings.Contains(string(got), "2026-01-02T03:04:05Z") {
		t.Errorf("zdgen version = %q (%v): the ldflags do not stamp it", got, err)
	}
}
