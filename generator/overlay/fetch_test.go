package overlay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func TestParseSource(t *testing.T) {
	const mod = "example.com/platform/zdgen-overlay"
	good := []struct {
		in   string
		want Source
		str  string
	}{
		{"./overlay", Source{Dir: "overlay"}, "./overlay"},
		{"./overlay/", Source{Dir: "overlay"}, "./overlay"},
		{"../platform/overlay", Source{Dir: "../platform/overlay"}, "../platform/overlay"},
		{".", Source{Dir: "."}, "."},
		{"..", Source{Dir: ".."}, ".."},
		{mod + "@v1.4.0", Source{Path: mod, Version: "v1.4.0"}, mod + "@v1.4.0"},
		{mod + "@v1.4.0-rc.1", Source{Path: mod, Version: "v1.4.0-rc.1"}, mod + "@v1.4.0-rc.1"},
		{mod + "@latest", Source{Path: mod, Version: Latest}, mod + "@latest"},
		{mod + "/v2@v2.0.1", Source{Path: mod + "/v2", Version: "v2.0.1"}, mod + "/v2@v2.0.1"},
		{mod + "@v0.0.0-20260101000000-abcdefabcdef", Source{Path: mod, Version: "v0.0.0-20260101000000-abcdefabcdef"}, mod + "@v0.0.0-20260101000000-abcdefabcdef"},
	}
	if runtime.GOOS != "windows" {
		good = append(good, struct {
			in   string
			want Source
			str  string
		}{"/srv/platform/overlay", Source{Dir: "/srv/platform/overlay"}, "/srv/platform/overlay"})
	}
	for _, c := range good {
		got, err := ParseSource(c.in)
		if err != nil {
			t.Errorf("ParseSource(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseSource(%q) = %#v, want %#v", c.in, got, c.want)
		}
		if got.IsModule() != (c.want.Path != "") {
			t.Errorf("ParseSource(%q).IsModule() = %v", c.in, got.IsModule())
		}
		if s := got.String(); s != filepath.FromSlash(c.str) {
			t.Errorf("ParseSource(%q).String() = %q, want %q", c.in, s, c.str)
		}
		// What a lock file records must read back as the same source.
		if again, err := ParseSource(got.String()); err != nil || again != got {
			t.Errorf("ParseSource(%q) = %#v, %v; want %#v", got.String(), again, err, got)
		}
	}

	bad := []struct {
		in, want string
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"overlay", "names neither a directory"},
		{mod, "has no version: for the module write " + mod + "@v1.2.3"},
		{mod + "@", "missing version"},
		{"@v1.0.0", "malformed module path"},
		{"overlay@v1.0.0", "missing dot in first path element"},
		{"Example.com/Overlay@v1.0.0", "malformed module path"},
		{mod + "@main", `"main" is not a release`},
		{mod + "@0123abcd", `"0123abcd" is not a release`},
		{mod + "@v1.4", "write it as v1.4.0"},
		{mod + "@v1.4.0+build.5", "write it as v1.4.0"},
		{mod + "@v2.0.0", "should be v0 or v1, not v2"},
		{mod + "@upgrade", "is not a release"},
	}
	for _, c := range bad {
		got, err := ParseSource(c.in)
		if err == nil {
			t.Errorf("ParseSource(%q) = %#v, want an error", c.in, got)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSource(%q) error %q does not say %q", c.in, err, c.want)
		}
	}
}

// A bare name is never a directory, but when one by that name exists the
// error says how to mean it.
func TestParseSourceBareDirectoryHint(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("overlay", 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := ParseSource("overlay")
	if err == nil || !strings.Contains(err.Error(), "write ./overlay") {
		t.Fatalf("ParseSource(overlay) error = %v, want a hint to write ./overlay", err)
	}
}

const testModule = "example.com/platform/zdgen-overlay"

// proxyRelease is one release of testModule: its source tree and the zip
// the proxy serves.
type proxyRelease struct {
	tree, zip string
}

// fileProxy writes a GOPROXY directory holding the given releases of
// testModule, each with an overlay.yaml and a template, and returns the
// releases by version.
func fileProxy(t *testing.T, dir string, versions ...string) map[string]proxyRelease {
	t.Helper()
	esc, err := module.EscapePath(testModule)
	if err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	goMod := "module " + testModule + "\n"
	releases := make(map[string]proxyRelease)
	for _, v := range versions {
		tree := t.TempDir()
		writeTree(t, tree, map[string]string{
			"go.mod":                    goMod,
			"overlay.yaml":              "name: platform\nversion: " + v + "\n",
			"templates/CODEOWNERS.tmpl": "* @platform-team # [[ .Name ]] " + v + "\n",
			"patches/labels.yaml.tmpl":  "labels:\n  team: platform\n",
		})
		zipPath := filepath.Join(vdir, v+".zip")
		f, err := os.Create(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := modzip.CreateFromDir(f, module.Version{Path: testModule, Version: v}, tree); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		writeTree(t, vdir, map[string]string{
			v + ".info": `{"Version":"` + v + `","Time":"2026-01-01T00:00:00Z"}`,
			v + ".mod":  goMod,
		})
		releases[v] = proxyRelease{tree: tree, zip: zipPath}
	}
	writeTree(t, vdir, map[string]string{"list": strings.Join(versions, "\n") + "\n"})
	return releases
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// isolateGo points the go command at proxy and at a module cache of the
// test's own, so that the tests need no network and neither read nor
// leave anything in the user's cache. -modcacherw lets t.TempDir remove
// the cache afterwards.
func isolateGo(t *testing.T, proxy string) {
	t.Helper()
	t.Setenv("GOPROXY", proxy)
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOPRIVATE", "")
	t.Setenv("GONOPROXY", "")
	t.Setenv("GONOSUMDB", "")
	t.Setenv("GOFLAGS", "-modcacherw")
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOTOOLCHAIN", "local")
}

func fileURL(dir string) string {
	u := filepath.ToSlash(dir)
	if !strings.HasPrefix(u, "/") {
		u = "/" + u // a Windows drive letter
	}
	return "file://" + u
}

func mustParse(t *testing.T, s string) Source {
	t.Helper()
	src, err := ParseSource(s)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestFetch(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	proxy := t.TempDir()
	releases := fileProxy(t, proxy, "v1.0.0", "v1.1.0")
	isolateGo(t, fileURL(proxy))
	ctx := t.Context()

	fetched := map[string]Fetched{}
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		t.Run(v, func(t *testing.T) {
			f, err := Fetch(ctx, mustParse(t, testModule+"@"+v))
			if err != nil {
				t.Fatal(err)
			}
			if f.Path != testModule || f.Version != v {
				t.Errorf("fetched %s@%s, want %s@%s", f.Path, f.Version, testModule, v)
			}
			yaml, err := os.ReadFile(filepath.Join(f.Dir, "overlay.yaml"))
			if err != nil {
				t.Fatalf("the fetched directory has no overlay.yaml: %v", err)
			}
			if want := "version: " + v + "\n"; !strings.Contains(string(yaml), want) {
				t.Errorf("overlay.yaml = %q, want it to hold %q", yaml, want)
			}
			if _, err := os.Stat(filepath.Join(f.Dir, "templates", "CODEOWNERS.tmpl")); err != nil {
				t.Errorf("the fetched directory lacks the template: %v", err)
			}
			want, err := dirhash.HashZip(releases[v].zip, dirhash.Hash1)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(f.Sum, "h1:") || f.Sum != want {
				t.Errorf("Sum = %q, want the zip's hash %q", f.Sum, want)
			}
			wantMod, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
				return os.Open(filepath.Join(releases[v].tree, "go.mod"))
			})
			if err != nil {
				t.Fatal(err)
			}
			if f.GoModSum != wantMod {
				t.Errorf("GoModSum = %q, want %q", f.GoModSum, wantMod)
			}
			if got := f.Source(); got != (Source{Path: testModule, Version: v}) {
				t.Errorf("Source() = %#v", got)
			}
			fetched[v] = f
		})
	}
	if fetched["v1.0.0"].Sum == fetched["v1.1.0"].Sum {
		t.Errorf("two releases with different files have the same Sum %s", fetched["v1.0.0"].Sum)
	}

	t.Run("latest resolves to the newest release", func(t *testing.T) {
		f, err := Fetch(ctx, mustParse(t, testModule+"@latest"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Version != "v1.1.0" {
			t.Errorf("latest resolved to %q, want v1.1.0", f.Version)
		}
		if f.Source().String() != testModule+"@v1.1.0" {
			t.Errorf("the recorded source is %q, want the release, not the query", f.Source())
		}
		if f.Sum != fetched["v1.1.0"].Sum {
			t.Errorf("latest Sum = %s, want v1.1.0's %s", f.Sum, fetched["v1.1.0"].Sum)
		}
	})

	t.Run("Sum is stable across fetches and caches", func(t *testing.T) {
		again, err := Fetch(ctx, mustParse(t, testModule+"@v1.0.0"))
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("GOMODCACHE", t.TempDir())
		fresh, err := Fetch(ctx, mustParse(t, testModule+"@v1.0.0"))
		if err != nil {
			t.Fatal(err)
		}
		first := fetched["v1.0.0"]
		if again.Sum != first.Sum || fresh.Sum != first.Sum || fresh.GoModSum != first.GoModSum {
			t.Errorf("Sum changed between fetches: %s, %s (cached), %s (fresh cache)", first.Sum, again.Sum, fresh.Sum)
		}
		if fresh.Dir == first.Dir {
			t.Errorf("a fresh GOMODCACHE was not used: %s", fresh.Dir)
		}
	})

	t.Run("a release that does not exist", func(t *testing.T) {
		_, err := Fetch(ctx, mustParse(t, testModule+"@v1.2.0"))
		var fe *FetchError
		if !errors.As(err, &fe) {
			t.Fatalf("Fetch of a missing release: %v, want a *FetchError", err)
		}
		if msg := err.Error(); !strings.Contains(msg, testModule+"@v1.2.0") || fe.Reason == "" {
			t.Errorf("error %q should name %s@v1.2.0 and carry the go command's reason", msg, testModule)
		}
	})

	t.Run("a module the proxy does not have", func(t *testing.T) {
		_, err := Fetch(ctx, mustParse(t, "example.com/platform/other@latest"))
		if err == nil || !strings.Contains(err.Error(), "example.com/platform/other@latest") {
			t.Fatalf("Fetch of an unknown module: %v, want an error naming it", err)
		}
	})

	t.Run("the go command's own complaints are passed on", func(t *testing.T) {
		t.Setenv("GOFLAGS", "-no-such-flag")
		_, err := Fetch(ctx, mustParse(t, testModule+"@v1.0.0"))
		if err == nil || !strings.Contains(err.Error(), "no-such-flag") {
			t.Fatalf("Fetch with a bad GOFLAGS: %v, want the go command's message", err)
		}
	})

	t.Run("a source Fetch refuses", func(t *testing.T) {
		for _, src := range []Source{
			{Dir: "overlay"},
			{Path: testModule, Version: "main"},
		} {
			if _, err := Fetch(ctx, src); err == nil {
				t.Errorf("Fetch(%#v) succeeded", src)
			}
		}
	})
}

// DirSum of a local copy of a release's files equals the hash go records
// for the release, so a local overlay can be matched to a recorded version.
func TestDirSum(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	proxy := t.TempDir()
	releases := fileProxy(t, proxy, "v1.0.0", "v1.1.0")
	isolateGo(t, fileURL(proxy))
	f, err := Fetch(t.Context(), mustParse(t, testModule+"@v1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := testModule + "@v1.0.0"

	// A checkout of the tag: the same files plus what a module zip leaves
	// out (the repository's .git, a nested module).
	local := t.TempDir()
	copyTree(t, releases["v1.0.0"].tree, local)
	writeTree(t, local, map[string]string{
		".git/HEAD":           "ref: refs/heads/main\n",
		".git/config":         "[core]\n",
		"examples/svc/go.mod": "module example.com/svc\n",
		"examples/svc/x.go":   "package svc\n",
	})

	for name, dir := range map[string]string{"the module cache's copy": f.Dir, "a local checkout": local} {
		got, err := DirSum(dir, prefix)
		if err != nil {
			t.Fatalf("DirSum of %s: %v", name, err)
		}
		if got != f.Sum {
			t.Errorf("DirSum of %s = %s, want the fetched Sum %s", name, got, f.Sum)
		}
	}

	if got, err := DirSum(local, testModule+"@v1.1.0"); err != nil || got == f.Sum {
		t.Errorf("DirSum under another version's name = %s, %v; want a different hash", got, err)
	}

	writeTree(t, local, map[string]string{"overlay.yaml": "name: platform\nversion: v1.0.0\n# edited\n"})
	if got, err := DirSum(local, prefix); err != nil || got == f.Sum {
		t.Errorf("DirSum after an edit = %s, %v; want a hash other than %s", got, err, f.Sum)
	}

	if _, err := DirSum(filepath.Join(local, "overlay.yaml"), prefix); err == nil {
		t.Error("DirSum of a file succeeded")
	}
	if _, err := DirSum(filepath.Join(local, "missing"), prefix); err == nil {
		t.Error("DirSum of a missing directory succeeded")
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeTree(t, to, map[string]string{filepath.ToSlash(rel): string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A cancelled context ends the go command even while it waits on a proxy
// that never answers.
func TestFetchCancelled(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	asked := make(chan struct{})
	var once sync.Once
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(asked) })
		select {
		case <-r.Context().Done():
		case <-release:
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	isolateGo(t, srv.URL)

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-asked
		cancel()
	}()
	_, err := Fetch(ctx, mustParse(t, testModule+"@v1.0.0"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestFetchWithoutGo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Fetch(t.Context(), Source{Path: testModule, Version: "v1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "the go command is needed") {
		t.Fatalf("Fetch without go on PATH: %v, want an error saying go is needed", err)
	}
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("error %v does not wrap exec.ErrNotFound", err)
	}
}

func TestBounded(t *testing.T) {
	var b bounded
	b.max = 8
	for _, s := range []string{"go: ", "bad ", "flag ", "x"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got, want := b.String(), "go: bad … (6 more bytes)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
