// Package overlay reads an organisation overlay: a platform team's own
// files, default answers and rules, versioned, on top of zdgen's
// templates. An overlay is a directory tree (a Go module's, when it is
// fetched by version):
//
//	overlay.yaml   name, version, the zdgen template versions it supports
//	               (a semver constraint), defaults (_name_ for the
//	               service's name: module: github.com/acme/_name_) and
//	               rules per answer
//	templates/     FILE.tmpl, rendered like zdgen's own templates ([[ ]],
//	               the same plan data, "_name_" in a path for the service
//	               name) to FILE in the service; a file zdgen also
//	               generates is replaced
//	kustomize/     DIR/ holding a kustomization.yaml of kind Component
//	               (labels, annotations, patches with a target such as a
//	               sidecar): copied unchanged to deploy/k8s/overlay/DIR/
//	               for the generated kustomization to list under
//	               components, so the base manifests stay zdgen's
//
// Every file under templates/ must end in .tmpl: a file that is copied or
// rendered depending on its name would surprise whoever writes one. Other
// files (README, LICENSE, go.mod) are allowed and count in the checksum
// (Sum), but are not written to the service.
//
// Loading touches the overlay's tree only through an os.Root, refuses
// symbolic links (a module zip cannot carry them, so an overlay relying on
// one would render differently once published) and bounds every read.
// A broken overlay, a version it does not support and an answer its rules
// refuse are *spec.InputError: bad input, exit code 2.
package overlay

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver/v3"
	"github.com/zdgen/zdgen/generator/spec"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// FileName is the overlay's description at the root of its tree.
const FileName = "overlay.yaml"

// KustomizeDir is where an overlay's kustomize/ tree lands in the
// service, relative to the repository root.
const KustomizeDir = "deploy/k8s/overlay"

// Bounds on what Load reads. An overlay is a few small text files; these
// keep a wrong directory (a home directory, a monorepo) from being read
// whole.
const (
	maxFileSize  = 1 << 20 // per file
	maxFiles     = 500
	maxTotalSize = 8 << 20
)

// Overlay is a loaded overlay: its description, parsed templates and
// kustomize files, and every file's content for its checksum.
type Overlay struct {
	Name    string // overlay.yaml's name, a DNS label
	Version string // overlay.yaml's version, canonical semver (v1.4.0)
	Zdgen   string // the template versions it supports, as written
	// Module is the module path its go.mod declares, "" without one.
	Module string

	dir        string
	constraint *semver.Constraints
	defaults   map[string]string
	rules      []rule
	templates  []tmpl
	kustomize  []spec.File
	components []string
	files      map[string][]byte // every loaded file by slash path: Sum's input
}

// ID names the overlay in messages: name@version.
func (o *Overlay) ID() string { return o.Name + "@" + o.Version }

// Load reads the overlay in dir and checks it whole: overlay.yaml,
// every template's syntax, every kustomize file. Nothing of it leaves
// dir.
func Load(dir string) (*Overlay, error) {
	o := &Overlay{dir: dir}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, o.fail("", "%v", err)
	}
	defer root.Close()
	if o.files, err = readTree(root); err != nil {
		return nil, o.fail("", "%v", err)
	}
	raw, ok := o.files[FileName]
	if !ok {
		return nil, o.fail("", "no %s at its root: is this an overlay?", FileName)
	}
	if err := o.parseDescription(raw); err != nil {
		return nil, err
	}
	if gomod, ok := o.files["go.mod"]; ok {
		if o.Module = modfile.ModulePath(gomod); o.Module == "" {
			return nil, o.fail("go.mod", "declares no module path")
		}
	}
	if err := o.loadTemplates(); err != nil {
		return nil, err
	}
	if err := o.loadKustomize(); err != nil {
		return nil, err
	}
	return o, nil
}

// fail is a broken overlay: bad input, named by its id once overlay.yaml
// is read (its directory before), and the file at fault.
func (o *Overlay) fail(file, format string, args ...any) error {
	who := o.dir
	if o.Name != "" {
		who = o.ID() + " (" + o.dir + ")"
	}
	if file != "" {
		who += ": " + file
	}
	return &spec.InputError{Field: "overlay", Rule: who + ": " + fmt.Sprintf(format, args...)}
}

// skipDirs are not part of an overlay, as they are not part of a module
// zip: version control metadata.
var skipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, ".bzr": true}

// readTree reads every regular file below root, bounded. What a module
// zip would leave out or cannot hold is refused (a symbolic link, a
// device, a nested module, a vendor directory, a name Go does not allow),
// so that the files read are the files published: Sum is the module's
// hash, and an overlay renders the same from a checkout as from the
// module proxy.
func readTree(root *os.Root) (map[string][]byte, error) {
	files := map[string][]byte{}
	total := 0
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if skipDirs[d.Name()] {
				return fs.SkipDir
			}
			if d.Name() == "vendor" {
				return fmt.Errorf("%s: a module zip leaves vendor directories out, so an overlay cannot hold one", p)
			}
			if p != "." {
				if _, err := root.Lstat(p + "/go.mod"); err == nil {
					return fmt.Errorf("%s holds a go.mod: a nested module is not part of the overlay's module; move it out", p)
				}
			}
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link; an overlay holds plain files only (a module cannot carry links)", p)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file", p)
		}
		// A name a module zip cannot hold would make the overlay
		// unpublishable, and its checksum unlike the module's.
		if err := module.CheckFilePath(p); err != nil {
			return err
		}
		if len(files) == maxFiles {
			return fmt.Errorf("more than %d files; an overlay is a few templates and patches", maxFiles)
		}
		b, err := readBounded(root, p)
		if err != nil {
			return err
		}
		if total += len(b); total > maxTotalSize {
			return fmt.Errorf("larger than %d MiB in all; an overlay is a few templates and patches", maxTotalSize>>20)
		}
		files[p] = b
		return nil
	})
	return files, err
}

// readBounded reads one file of at most maxFileSize bytes.
func readBounded(root *os.Root, p string) ([]byte, error) {
	f, err := root.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The walk saw a regular file; check again on the open file, which is
	// what is read.
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB; an overlay's files are small text files", p, maxFileSize>>20)
	}
	return b, nil
}

// under lists the loaded files below dir, sorted, with their paths
// relative to it.
func (o *Overlay) under(dir string) []string {
	var rels []string
	for p := range o.files {
		if rel, ok := strings.CutPrefix(p, dir+"/"); ok {
			rels = append(rels, rel)
		}
	}
	sort.Strings(rels)
	return rels
}

// tmpl is one parsed template and the service path it renders to, with
// "_name_" still in it.
type tmpl struct {
	src string // path in the overlay, templates/...
	out string
	t   *template.Template
}

// loadTemplates parses every file under templates/.
func (o *Overlay) loadTemplates() error {
	left, right := renderDelims()
	funcs := funcMap()
	for _, rel := range o.under("templates") {
		src := "templates/" + rel
		out, ok := strings.CutSuffix(rel, ".tmpl")
		if !ok {
			return o.fail(src, "every file under templates/ is a template and ends in .tmpl (it renders to its path without .tmpl)")
		}
		if err := checkOutPath(out); err != nil {
			return o.fail(src, "%v", err)
		}
		t, err := template.New(src).Delims(left, right).Funcs(funcs).Option("missingkey=error").Parse(string(o.files[src]))
		if err != nil {
			return o.fail(src, "%s", spec.Clip(err.Error()))
		}
		if err := instrument(t); err != nil {
			return o.fail(src, "%v", err)
		}
		o.templates = append(o.templates, tmpl{src: src, out: out, t: t})
	}
	return nil
}

// checkOutPath refuses a service path an overlay may not write: one that
// is not clean and relative, the lock file (zdgen writes it, and upgrade
// trusts it), or one in the kustomize files' directory.
func checkOutPath(p string) error {
	switch {
	case p == "" || p == "." || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\\"):
		return fmt.Errorf("renders to %q, which is not a clean path inside the service", p)
	case p == spec.LockPath:
		return fmt.Errorf("renders to %s, zdgen's record of the repository; an overlay cannot replace it", spec.LockPath)
	case p == KustomizeDir || strings.HasPrefix(p, KustomizeDir+"/"):
		return fmt.Errorf("renders to %s, where the overlay's kustomize/ files go; change manifests with a component under kustomize/", p)
	}
	if err := checkGitPath(p); err != nil {
		return fmt.Errorf("renders to %s: %v", p, err)
	}
	return nil
}

// checkGitPath refuses a path with a component that is git's own
// directory on some file system, as git refuses such a path in a tree
// (verify_path, with core.protectHFS and core.protectNTFS as on macOS
// and Windows): .git in any case (macOS and Windows ignore case), so
// that .GIT/config written on a laptop is .git/config, whose
// core.fsmonitor runs a command at the next git status; .git with code
// points HFS+ ignores inside it; and what NTFS reads as .git: trailing
// dots and spaces, an alternate data stream (.git::$INDEX_ALLOCATION),
// the short name GIT~1. git's other rules are about symbolic links
// (.gitmodules and its kin as links), which zdgen never writes.
func checkGitPath(p string) error {
	for _, c := range strings.Split(p, "/") {
		if isHFSDotGit(c) || isNTFSDotGit(c) {
			return fmt.Errorf("%q is git's own directory on a case-insensitive or Windows file system (git refuses such a path in a repository); an overlay cannot write there", c)
		}
	}
	return nil
}

// hfsIgnored are the code points HFS+ leaves out of a file name when it
// compares names (git's next_hfs_char): ".g\u200cit" is .git there.
var hfsIgnored = map[rune]bool{
	0x200c: true, 0x200d: true, 0x200e: true, 0x200f: true, // zero-width joiners, direction marks
	0x202a: true, 0x202b: true, 0x202c: true, 0x202d: true, 0x202e: true, // embeddings and overrides
	0x206a: true, 0x206b: true, 0x206c: true, 0x206d: true, 0x206e: true, 0x206f: true, // deprecated format characters
	0xfeff: true, // zero-width no-break space
}

// isHFSDotGit reports whether HFS+ reads the path component c as .git,
// in any case.
func isHFSDotGit(c string) bool {
	var b strings.Builder
	for _, r := range c {
		if !hfsIgnored[r] {
			b.WriteRune(r)
		}
	}
	return strings.EqualFold(b.String(), ".git")
}

// isNTFSDotGit reports whether NTFS reads the path component c as .git
// (git's is_ntfs_dotgit): .git or its short name git~1, in any case,
// followed by nothing but dots and spaces (which NTFS drops), or by a
// colon (an alternate data stream of it).
func isNTFSDotGit(c string) bool {
	var rest string
	switch {
	case len(c) >= 4 && strings.EqualFold(c[:4], ".git"):
		rest = c[4:]
	case len(c) >= 5 && strings.EqualFold(c[:5], "git~1"):
		rest = c[5:]
	default:
		return false
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case ':':
			return true
		case '.', ' ':
		default:
			return false
		}
	}
	return true
}
