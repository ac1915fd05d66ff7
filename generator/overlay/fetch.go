package overlay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// Latest is the one version query a module source may name instead of a
// release: Fetch resolves it, and what gets recorded is the release it
// resolved to, never the word.
const Latest = "latest"

// Source says where an overlay comes from: a local directory (Dir) or a
// module release (Path and Version). Exactly one of the two is set.
type Source struct {
	Dir string // local directory, as written (cleaned)

	Path    string // module path, e.g. example.com/platform/zdgen-overlay
	Version string // a canonical semantic version, or Latest
}

// IsModule reports whether s names a module release rather than a directory.
func (s Source) IsModule() bool { return s.Path != "" }

// String gives s in the form ParseSource reads back.
func (s Source) String() string {
	if s.IsModule() {
		return s.Path + "@" + s.Version
	}
	if looksLocal(s.Dir) {
		return s.Dir
	}
	// Clean drops the leading "./" that keeps a relative directory from
	// reading as a module path.
	return "." + string(filepath.Separator) + s.Dir
}

// ParseSource reads an overlay source as a user writes it:
//
//   - a local directory is written as a path: it is ".", "..", absolute,
//     or starts with "./" or "../" (as the go command tells a directory
//     from an import path). A bare name such as "overlay" is never taken
//     for a directory, even if one exists, so that the same words mean
//     the same thing in every working directory and in a lock file;
//   - a module is written path@version, where version is a release such
//     as v1.4.0 (what gets recorded and fetched again on upgrade) or
//     "latest", which Fetch resolves to the release it finds. Branch
//     names, commit hashes and partial versions such as v1.4 are refused:
//     they move, and an overlay's version must not.
//
// ParseSource checks only the syntax; it does not look at the directory
// or ask a proxy whether the release exists.
func ParseSource(s string) (Source, error) {
	if strings.TrimSpace(s) == "" {
		return Source{}, errors.New("overlay source is empty: give a directory (./dir) or a module path@version")
	}
	if looksLocal(s) {
		return Source{Dir: filepath.Clean(s)}, nil
	}
	path, version, ok := strings.Cut(s, "@")
	if !ok && module.CheckPath(s) == nil {
		return Source{}, fmt.Errorf("overlay source %q has no version: for the module write %s@v1.2.3 (or %s@latest); for a directory write ./%s", s, s, s, s)
	}
	if !ok {
		hint := ""
		if fi, err := os.Stat(s); err == nil && fi.IsDir() {
			hint = fmt.Sprintf("; for the directory write ./%s", s)
		}
		return Source{}, fmt.Errorf("overlay source %q names neither a directory (./dir, ../dir or an absolute path) nor a module release (path@v1.2.3 or path@latest)%s", s, hint)
	}
	if err := module.CheckPath(path); err != nil {
		return Source{}, fmt.Errorf("overlay source %q: %w", s, err)
	}
	if err := checkVersion(path, version); err != nil {
		return Source{}, fmt.Errorf("overlay source %q: %w", s, err)
	}
	return Source{Path: path, Version: version}, nil
}

// looksLocal reports whether s is written as a file path rather than an
// import path.
func looksLocal(s string) bool {
	slash := filepath.ToSlash(s)
	return slash == "." || slash == ".." || strings.HasPrefix(slash, "./") ||
		strings.HasPrefix(slash, "../") || filepath.IsAbs(s) || strings.HasPrefix(slash, "/")
}

// checkVersion accepts Latest or a canonical release of path. module.Check
// alone lets v1.4 and v1.4.0+build through; the go command would read the
// first as a query and drop the second's suffix, so neither is what a
// lock file could record.
func checkVersion(path, v string) error {
	if v == Latest {
		return nil
	}
	if v == "" {
		return fmt.Errorf("missing version after @: write a release such as v1.4.0, or %s", Latest)
	}
	if !semver.IsValid(v) {
		return fmt.Errorf("version %q is not a release: write one such as v1.4.0, or %s (branches and commits move; an overlay's version must not)", v, Latest)
	}
	if semver.Canonical(v) != strings.TrimSuffix(v, "+incompatible") {
		return fmt.Errorf("version %q is not a full release version: write it as %s", v, semver.Canonical(v))
	}
	return module.Check(path, v)
}

// Fetched is a module overlay in the module cache.
type Fetched struct {
	Path     string // module path
	Version  string // the release fetched; a Latest query resolved
	Dir      string // the extracted module: read-only, shared with other builds
	Sum      string // the module's h1: hash, as go.sum records it
	GoModSum string // the h1: hash of its go.mod
}

// Source is the release that was fetched, as a lock file records it.
func (f Fetched) Source() Source { return Source{Path: f.Path, Version: f.Version} }

// FetchError reports a module overlay the go command could not download.
type FetchError struct {
	Source Source
	Reason string // what the go command said, trimmed and bounded
	Err    error  // the underlying error, if any (context, exec)
}

func (e *FetchError) Error() string {
	msg := "fetching overlay " + e.Source.String()
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *FetchError) Unwrap() error { return e.Err }

// maxReason bounds how much of the go command's output an error carries:
// enough for its own messages, not for a page of proxy HTML.
const maxReason = 4 << 10

// Fetch downloads a module overlay with the go command, as
// `go mod download -json path@version`, and returns where the module
// cache holds it. The go command does the rest as it does for any
// dependency: it honours GOPROXY, GOPRIVATE, GONOSUMDB, GOFLAGS, GOMODCACHE
// and the rest of the environment, and verifies the module's hash against
// the checksum database (or refuses), so a release cannot change under a
// recorded version.
//
// It runs in an empty temporary directory, so that no go.mod or go.work
// around the caller changes what is downloaded or is edited. Standard
// input is closed (the go command never waits on a prompt), and when ctx
// ends the go command is killed.
func Fetch(ctx context.Context, src Source) (Fetched, error) {
	if !src.IsModule() {
		return Fetched{}, fmt.Errorf("overlay %s is a local directory: it is read in place, not fetched", src)
	}
	if err := checkVersion(src.Path, src.Version); err != nil {
		return Fetched{}, &FetchError{Source: src, Err: err}
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return Fetched{}, &FetchError{Source: src, Reason: "the go command is needed to fetch a module overlay and is not on PATH; install Go, or use a local overlay directory", Err: err}
	}
	tmp, err := os.MkdirTemp("", "zdgen-overlay-")
	if err != nil {
		return Fetched{}, &FetchError{Source: src, Err: err}
	}
	defer os.RemoveAll(tmp)

	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", src.Path+"@"+src.Version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(),
		"GO111MODULE=on",
		"GOWORK=off",
		// Appended, so that the user's own flags (-modcacherw, say) still
		// apply and a -mod=vendor meant for their service does not.
		"GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"),
	)
	var stdout, stderr bounded
	stdout.max, stderr.max = 1<<20, maxReason
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A git the go command started for a direct fetch may outlive it and
	// hold the pipes; WaitDelay keeps that from holding Fetch.
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return Fetched{}, &FetchError{Source: src, Err: ctx.Err()}
	}

	// On failure the go command still prints the JSON, with Error set;
	// stderr carries what comes before it (a bad GOFLAGS, say).
	var out struct {
		Path, Version, Error, Dir, Sum, GoModSum string
	}
	jsonErr := json.Unmarshal(stdout.buf.Bytes(), &out)
	if runErr != nil || out.Error != "" {
		reason := out.Error
		if reason == "" {
			reason = stderr.String()
		}
		if reason == "" {
			return Fetched{}, &FetchError{Source: src, Err: runErr}
		}
		return Fetched{}, &FetchError{Source: src, Reason: reason}
	}
	if jsonErr != nil {
		return Fetched{}, &FetchError{Source: src, Reason: "reading go mod download -json output", Err: jsonErr}
	}
	f := Fetched{Path: out.Path, Version: out.Version, Dir: out.Dir, Sum: out.Sum, GoModSum: out.GoModSum}
	if err := f.check(src); err != nil {
		return Fetched{}, &FetchError{Source: src, Err: err}
	}
	return f, nil
}

// check makes sure the go command answered what was asked, with a
// release and hashes a lock file can record.
func (f Fetched) check(src Source) error {
	switch {
	case f.Path != src.Path:
		return fmt.Errorf("go mod download answered for module %q", f.Path)
	case src.Version != Latest && f.Version != src.Version:
		return fmt.Errorf("go mod download answered with version %q", f.Version)
	case !semver.IsValid(f.Version):
		return fmt.Errorf("go mod download resolved %s to %q, which is not a release", src.Version, f.Version)
	case f.Dir == "":
		return errors.New("go mod download reported no directory")
	case !strings.HasPrefix(f.Sum, "h1:"):
		return fmt.Errorf("go mod download reported no h1: hash (%q)", f.Sum)
	}
	return nil
}

// bounded keeps the first max bytes written to it and counts the rest,
// so that a go command gone wrong cannot fill memory.
type bounded struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (b *bounded) Write(p []byte) (int, error) {
	keep := min(len(p), max(b.max-b.buf.Len(), 0))
	b.buf.Write(p[:keep])
	b.dropped += len(p) - keep
	return len(p), nil
}

func (b *bounded) String() string {
	s := strings.TrimSpace(b.buf.String())
	if b.dropped > 0 {
		s += fmt.Sprintf(" … (%d more bytes)", b.dropped)
	}
	return s
}

// DirSum returns the h1: hash of the files in dir as they would be in a
// module zip, naming them below prefix. With prefix "path@version" it is
// the hash go.sum records for that release when dir holds the same files:
// the module zip's rules decide what counts (VCS directories such as .git,
// nested modules, vendored packages and symbolic links are left out, as
// the zip leaves them out), so a clean checkout of the overlay's tag hashes
// as the module does. A directory whose files could not be a module
// (case-folding name collisions, invalid names, too large) is an error.
func DirSum(dir, prefix string) (string, error) {
	if fi, err := os.Stat(dir); err != nil {
		return "", err
	} else if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	cf, err := modzip.CheckDir(dir)
	if err != nil {
		return "", fmt.Errorf("hashing overlay %s: %w", dir, err)
	}
	names := make([]string, 0, len(cf.Valid))
	files := make(map[string]string, len(cf.Valid))
	for _, p := range cf.Valid {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return "", err
		}
		name := prefix + "/" + filepath.ToSlash(rel)
		names = append(names, name)
		files[name] = p
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		return os.Open(files[name])
	})
}
