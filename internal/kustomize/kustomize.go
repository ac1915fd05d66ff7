// Package kustomize builds a kustomization with kustomize's own API, as
// `kubectl kustomize` does, over files held in an fs.FS: a repository on
// disk (os.DirFS) or one still in memory, before anything is written.
//
// The files below the kustomization's directory are copied into an
// in-memory file system first, so the build reads nothing else of the
// machine: no plugins run, a kustomization may load only files below its
// own root (kustomize's LoadRestrictionsRootOnly), and one that names a
// remote resource, base or file (a URL, a git repository), which kubectl
// would fetch, is refused: the build is the same offline and online.
package kustomize

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Limits on what Build copies: a kustomization is a handful of small
// manifests, and the copy is held in memory.
const (
	MaxFiles = 1000
	MaxBytes = 4 << 20
)

// Object is one object of a build's output.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	YAML       []byte // the object alone, as kustomize prints it
}

// ID names the object as kubectl does: Kind/name.
func (o Object) ID() string { return o.Kind + "/" + o.Name }

// Build runs the kustomization in dir (a slash-separated path of fsys,
// "." for its root) and returns its output as one multi-document YAML
// stream, as `kubectl kustomize dir` prints it.
func Build(fsys fs.FS, dir string) ([]byte, error) {
	objs, err := BuildObjects(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(o.YAML)
	}
	return out.Bytes(), nil
}

// BuildObjects runs the kustomization in dir as Build does and returns
// its objects in the order the kustomization lists them (kustomize's
// "none" order: resources depth first, then what components and
// generators add), each on its own.
func BuildObjects(fsys fs.FS, dir string) ([]Object, error) {
	dir = path.Clean(dir)
	if !fs.ValidPath(dir) {
		return nil, fmt.Errorf("kustomize: %q is not a path inside the tree", dir)
	}
	mem, root, err := copyIn(fsys, dir)
	if err != nil {
		return nil, err
	}
	// krusty's defaults are kubectl's: no plugins, files only from below
	// the kustomization's root, no managed-by label. The order is the
	// kustomization's own, which is also the order `kubectl apply -k`
	// would meet them in when listed by hand.
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, root)
	if err != nil {
		return nil, &buildError{dir: dir, err: err}
	}
	objs := make([]Object, 0, m.Size())
	for _, r := range m.Resources() {
		o, err := object(r)
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func object(r *resource.Resource) (Object, error) {
	y, err := r.AsYAML()
	if err != nil {
		return Object{}, fmt.Errorf("%s/%s: %w", r.GetKind(), r.GetName(), err)
	}
	return Object{
		APIVersion: r.GetApiVersion(),
		Kind:       r.GetKind(),
		Name:       r.GetName(),
		Namespace:  r.GetNamespace(),
		YAML:       y,
	}, nil
}

// memRoot is where the copy lives in the in-memory file system; kustomize's
// messages name files below it, which unroot takes away again so that they
// name the files as fsys holds them.
const memRoot = "/"

// copyIn copies the regular files below dir of fsys into a new in-memory
// file system, at the same paths, and returns it with dir's path there. It
// refuses symbolic links and other irregular files, and more than
// MaxFiles files or MaxBytes bytes, and kustomizations that would reach
// beyond the copy (checkLocal).
func copyIn(fsys fs.FS, dir string) (filesys.FileSystem, string, error) {
	mem := filesys.MakeFsInMemory()
	root := memRoot + dir
	if dir == "." {
		root = memRoot
	}
	if err := mem.MkdirAll(root); err != nil {
		return nil, "", err
	}
	files, size := 0, 0
	var kusts []string // checked once every file is in
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return mem.MkdirAll(memRoot + p)
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: a symbolic link; kustomize here reads only regular files", p)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", p)
		}
		if files++; files > MaxFiles {
			return fmt.Errorf("%s holds more than %d files; a kustomization is a handful of manifests", dir, MaxFiles)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if size += len(b); size > MaxBytes {
			return fmt.Errorf("%s holds more than %d bytes; a kustomization is a handful of manifests", dir, MaxBytes)
		}
		if kustomizationNames[path.Base(p)] {
			kusts = append(kusts, p)
		}
		return mem.WriteFile(memRoot+p, b)
	})
	if err == nil {
		for _, p := range kusts {
			if err = checkLocal(mem, dir, p); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return mem, root, nil
}

// buildError is kustomize's complaint about the kustomization in dir,
// told with the files named by their paths in fsys ("deploy/k8s/patch.yaml"),
// not in the in-memory copy ("/deploy/k8s/patch.yaml").
type buildError struct {
	dir string
	err error
}

func (e *buildError) Error() string {
	msg := e.err.Error()
	for _, q := range []string{"'", `"`, " ", "("} {
		msg = strings.ReplaceAll(msg, q+memRoot, q)
	}
	return "kustomize build " + e.dir + ": " + msg
}

func (e *buildError) Unwrap() error { return e.err }
