// Package write is the only code that changes a target tree: a new
// service written all or nothing (Write), the checks --dry-run shares with
// it (CheckTarget, CheckPaths), and the staging an upgrade is applied
// through (Staging). It never writes through a symbolic link.
package write

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/zdgen/zdgen/generator/spec"
)

// ErrTargetNotEmpty is returned when the output directory already holds
// files and the caller did not ask to write over them.
var ErrTargetNotEmpty = errors.New("target directory is not empty")

// ErrRepository is returned when the output directory is already a
// generated repository: generating over it would reset its answers and
// overwrite its owner's edits, which is what `zdgen upgrade` avoids. It
// is bad input (spec.IsInputError), not a failure.
var ErrRepository error = &badTarget{"holds a zdgen repository (" + spec.LockPath + "); zdgen new would reset its answers and overwrite your edits: run `zdgen upgrade` there instead (`zdgen upgrade --set key=value` changes answers)"}

// badTarget is a target directory zdgen must not write to for what it
// holds, whatever --force says: bad input.
type badTarget struct{ msg string }

func (e *badTarget) Error() string { return e.msg }
func (*badTarget) BadInput()       {}

// TargetError says why a target directory cannot be written.
type TargetError struct {
	Dir string
	Err error
}

func (e *TargetError) Error() string {
	if errors.Is(e.Err, ErrTargetNotEmpty) {
		return fmt.Sprintf("%s: %v (choose an empty or new directory with --output, or pass --force to write over zdgen's files there)", e.Dir, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Dir, e.Err)
}
func (e *TargetError) Unwrap() error { return e.Err }

// writeHook, when set (by tests), runs before each file is moved into an
// existing directory; an error stops Write there, as a failed rename would.
var writeHook func(i int) error

// Write puts files into dir, all or nothing.
//
// An absent dir is built complete in a temporary sibling directory and
// renamed into place. An existing dir (empty, or any with force) is written
// into and keeps its inode, owner and mode: the files are staged in a
// temporary directory inside it (the same file system), every target path
// is checked, and only then is each file renamed into place, a file it
// replaces moved aside first. A failure or a cancelled ctx at any point
// puts the directory back as it was: the files and directories Write added
// are removed and the files it moved aside return. Files not generated are
// left alone.
func Write(ctx context.Context, dir string, files []spec.File, force bool) error {
	dir = filepath.Clean(dir)
	if err := CheckTarget(dir, force); err != nil {
		return err
	}
	for _, f := range files {
		if !localPath(f.Path) {
			return fmt.Errorf("refusing file path %q: it leaves the output directory", f.Path)
		}
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return writeNew(ctx, dir, files)
	}
	return writeInto(ctx, dir, files)
}

// CheckTarget says whether Write would accept dir: absent or empty, or
// any directory with force; never a file, a symbolic link or a generated
// repository. --dry-run asks it too, so that it fails where the real run
// would.
func CheckTarget(dir string, force bool) error {
	dir = filepath.Clean(dir)
	empty, err := isEmptyDir(dir)
	if err != nil {
		return &TargetError{dir, err}
	}
	if _, err := os.Lstat(filepath.Join(dir, spec.LockPath)); err == nil {
		return &TargetError{dir, ErrRepository}
	}
	if !empty && !force {
		if !mayWrite(dir) {
			return &TargetError{dir, errors.New("target directory is not empty, and not writable by you (choose an empty or new directory with --output)")}
		}
		return &TargetError{dir, ErrTargetNotEmpty}
	}
	return nil
}

// CheckPaths says whether every file can be placed in dir: no directory
// where a file goes, no file or symbolic link where a directory goes.
// Write checks this before it moves the first file; --dry-run asks it too.
func CheckPaths(dir string, files []spec.File) error {
	dir = filepath.Clean(dir)
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &TargetError{dir, err}
	}
	defer root.Close()
	for _, f := range files {
		if err := checkPath(root, f.Path); err != nil {
			return &TargetError{dir, err}
		}
	}
	return nil
}

func checkPath(root *os.Root, rel string) error {
	if !localPath(rel) {
		return fmt.Errorf("refusing file path %q: it leaves the output directory", rel)
	}
	parts := strings.Split(path.Clean(rel), "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // nor anything below it
		}
		if err != nil {
			return err
		}
		last := i == len(parts)-1
		switch {
		case fi.Mode()&fs.ModeSymlink != 0 && !last:
			return fmt.Errorf("%s is a symbolic link; zdgen does not write through links", p)
		case fi.IsDir() && last:
			return fmt.Errorf("%s is a directory; zdgen writes a file there", p)
		case !fi.IsDir() && !last:
			return fmt.Errorf("%s is a file; zdgen needs a directory there for %s", p, rel)
		}
	}
	return nil
}

// localPath accepts a slash-separated relative path that stays below the
// directory it is joined to.
func localPath(rel string) bool {
	return filepath.IsLocal(filepath.FromSlash(rel)) && !strings.Contains(rel, "\\") && !path.IsAbs(rel)
}

// writeNew builds dir, which does not exist, in a temporary sibling and
// renames it into place.
func writeNew(ctx context.Context, dir string, files []spec.File) (err error) {
	parent := filepath.Dir(dir)
	made := firstMissing(parent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return &TargetError{dir, err}
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".zdgen-*")
	if err != nil {
		removeEmptyUp(parent, made)
		return &TargetError{dir, err}
	}
	defer func() {
		if rmErr := os.RemoveAll(stage); rmErr != nil && err == nil {
			err = rmErr
		}
		if err != nil {
			removeEmptyUp(parent, made)
		}
	}()
	if err := stageFiles(ctx, stage, files); err != nil {
		return err
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	return os.Rename(stage, dir)
}

// stageFiles writes files below the directory stage, confined to it.
func stageFiles(ctx context.Context, stage string, files []spec.File) error {
	root, err := os.OpenRoot(stage)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := root.MkdirAll(path.Dir(f.Path), 0o755); err != nil {
			return err
		}
		if err := root.WriteFile(f.Path, f.Content, f.Mode.Perm()); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// writeInto writes files into the existing directory dir; see Write.
func writeInto(ctx context.Context, dir string, files []spec.File) (err error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return &TargetError{dir, err}
	}
	defer root.Close()
	stagePath, err := os.MkdirTemp(dir, ".zdgen-new-*")
	if err != nil {
		return &TargetError{dir, err}
	}
	stage := filepath.Base(stagePath)
	defer func() {
		if rmErr := root.RemoveAll(stage); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	newDir, oldDir := stage+"/new", stage+"/old"
	if err := root.Mkdir(newDir, 0o700); err != nil {
		return err
	}
	if err := stageFiles(ctx, stagePath+"/new", files); err != nil {
		return err
	}
	for _, f := range files {
		if err := checkPath(root, f.Path); err != nil {
			return &TargetError{dir, err}
		}
	}
	// Each step that changes dir records how to undo it.
	var undo []func() error
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			if uErr := undo[i](); uErr != nil {
				err = fmt.Errorf("%w; putting %s back as it was also failed: %v", err, dir, uErr)
			}
		}
	}()
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if writeHook != nil {
			if err := writeHook(i); err != nil {
				return err
			}
		}
		rel := path.Clean(f.Path)
		parts := strings.Split(rel, "/")
		for j := 1; j < len(parts); j++ {
			d := strings.Join(parts[:j], "/")
			if err := root.Mkdir(d, 0o755); err == nil {
				undo = append(undo, func() error { return root.Remove(d) })
			} else if !errors.Is(err, fs.ErrExist) {
				return err
			}
		}
		if err := checkPath(root, rel); err != nil {
			return &TargetError{dir, err}
		}
		if _, err := root.Lstat(rel); err == nil {
			aside := oldDir + "/" + rel
			if err := root.MkdirAll(path.Dir(aside), 0o700); err != nil {
				return err
			}
			if err := root.Rename(rel, aside); err != nil {
				return err
			}
			undo = append(undo, func() error { return root.Rename(aside, rel) })
		}
		if err := root.Rename(newDir+"/"+rel, rel); err != nil {
			return err
		}
		undo = append(undo, func() error { return root.Remove(rel) })
	}
	return ctx.Err()
}

// firstMissing returns the outermost ancestor of dir (or dir itself) that
// does not exist, or "" if dir exists.
func firstMissing(dir string) string {
	missing := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			return missing
		}
		missing = d
		if filepath.Dir(d) == d {
			return missing
		}
	}
}

// removeEmptyUp removes dir and its ancestors up to and including top, as
// long as they are empty: the directories writeNew made for its target.
func removeEmptyUp(dir, top string) {
	if top == "" {
		return
	}
	for d := dir; ; d = filepath.Dir(d) {
		if os.Remove(d) != nil || d == top || filepath.Dir(d) == d {
			return
		}
	}
}

// Staging holds new contents inside an existing tree, on its file system,
// until they are renamed over their places one by one: how an upgrade
// changes a repository so that stopping before the renames leaves it as it
// was. Every path is resolved in the tree's os.Root, so none leaves it;
// Commit also refuses a symbolic link on the way to a file. Close removes
// whatever is still staged.
type Staging struct {
	dir   string
	root  *os.Root
	stage string // the staging directory, relative to root
}

// NewStaging makes a staging directory inside dir.
func NewStaging(dir string) (*Staging, error) {
	dir = filepath.Clean(dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	p, err := os.MkdirTemp(dir, ".zdgen-upgrade-*")
	if err != nil {
		root.Close()
		return nil, err
	}
	return &Staging{dir: dir, root: root, stage: filepath.Base(p)}, nil
}

// Close removes the staging directory.
func (s *Staging) Close() error {
	err := s.root.RemoveAll(s.stage)
	if cErr := s.root.Close(); err == nil {
		err = cErr
	}
	return err
}

// ModeOf is the mode of the file at rel in the tree, if there is one.
func (s *Staging) ModeOf(rel string) (fs.FileMode, bool) {
	if !localPath(rel) {
		return 0, false
	}
	fi, err := s.root.Lstat(rel)
	if err != nil {
		return 0, false
	}
	return fi.Mode(), true
}

// Put stages f.
func (s *Staging) Put(f spec.File) error {
	if !localPath(f.Path) {
		return fmt.Errorf("refusing file path %q: it leaves the output directory", f.Path)
	}
	staged := s.stage + "/" + path.Clean(f.Path)
	if err := s.root.MkdirAll(path.Dir(staged), 0o755); err != nil {
		return err
	}
	return s.root.WriteFile(staged, f.Content, f.Mode.Perm())
}

// Check says whether rel can be committed or removed: a path below the
// tree, with no symbolic link or file on the way to it and no directory
// where it is. Commit checks again, but an upgrade checks every target
// first, so that a blocked one stops it before anything is renamed.
func (s *Staging) Check(rel string) error {
	if err := checkPath(s.root, rel); err != nil {
		return &TargetError{s.dir, err}
	}
	return nil
}

// Commit renames the staged file rel over its place in the tree.
func (s *Staging) Commit(rel string) error {
	if !localPath(rel) {
		return fmt.Errorf("refusing file path %q: it leaves the output directory", rel)
	}
	rel = path.Clean(rel)
	if err := checkPath(s.root, rel); err != nil {
		return &TargetError{s.dir, err}
	}
	if err := s.root.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return err
	}
	return s.root.Rename(s.stage+"/"+rel, rel)
}

// Remove removes the file rel from the tree, and the directories it leaves
// empty.
func (s *Staging) Remove(rel string) error {
	if !localPath(rel) {
		return fmt.Errorf("refusing file path %q: it leaves the output directory", rel)
	}
	rel = path.Clean(rel)
	if err := s.root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if s.root.Remove(d) != nil { // not empty: stop
			break
		}
	}
	return nil
}

func isEmptyDir(dir string) (bool, error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return false, errors.New("is a symbolic link; zdgen does not write through links")
	}
	if !fi.IsDir() {
		return false, errors.New("exists and is not a directory")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	return len(entries) == 0, nil
}
