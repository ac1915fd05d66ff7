// Package modproxy writes a Go module proxy as a plain directory, which
// the go command reads through GOPROXY=file:///DIR, so that tests fetch
// module releases (organisation overlays) as a user's go command would,
// without a network. The files are those of the GOPROXY protocol:
// MODULE/@v/list, VERSION.info, VERSION.mod and VERSION.zip, the zip
// made by golang.org/x/mod/zip as the go command makes it.
package modproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// Proxy is a module proxy directory.
type Proxy struct{ Dir string }

// URL is the proxy as GOPROXY names it.
func (p Proxy) URL() string {
	u := filepath.ToSlash(p.Dir)
	if !strings.HasPrefix(u, "/") {
		u = "/" + u // a Windows drive letter
	}
	return "file://" + u
}

// Publish adds the module in tree (its go.mod names the path) as release
// version, and lists it.
func (p Proxy) Publish(tree, version string) error {
	goMod, err := os.ReadFile(filepath.Join(tree, "go.mod"))
	if err != nil {
		return err
	}
	path := modfile.ModulePath(goMod)
	if path == "" {
		return fmt.Errorf("%s/go.mod declares no module", tree)
	}
	esc, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(p.Dir, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(vdir, version+".zip"))
	if err != nil {
		return err
	}
	if err := modzip.CreateFromDir(f, module.Version{Path: path, Version: version}, tree); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	info := fmt.Sprintf(`{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, version)
	if err := os.WriteFile(filepath.Join(vdir, version+".info"), []byte(info), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".mod"), goMod, 0o644); err != nil {
		return err
	}
	list, err := os.OpenFile(filepath.Join(vdir, "list"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(list, version); err != nil {
		list.Close()
		return err
	}
	return list.Close()
}

// Env is the environment that makes the go command fetch from proxy
// only, into a module cache of its own (modcache), with no checksum
// database to ask: a test's releases are not in the public one.
// -modcacherw lets the cache be removed afterwards.
func Env(proxy Proxy, modcache string) map[string]string {
	return map[string]string{
		"GOPROXY":     proxy.URL(),
		"GOSUMDB":     "off",
		"GOPRIVATE":   "",
		"GONOPROXY":   "",
		"GONOSUMDB":   "",
		"GOFLAGS":     "-modcacherw",
		"GOMODCACHE":  modcache,
		"GOTOOLCHAIN": "local",
	}
}
