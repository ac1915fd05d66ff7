package generator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrTargetNotEmpty is returned when the output directory already holds
// files and the caller did not ask to write over them.
var ErrTargetNotEmpty = errors.New("target directory is not empty")

// TargetError says why a target directory cannot be written.
type TargetError struct {
	Dir string
	Err error
}

func (e *TargetError) Error() string {
	return fmt.Sprintf("%s: %v (choose an empty or new directory with --output, or pass --force to write over zdgen's files there)", e.Dir, e.Err)
}
func (e *TargetError) Unwrap() error { return e.Err }

// Write puts files into dir, all or nothing.
//
// A new (or empty) dir is built complete in a temporary sibling directory
// and renamed into place, so a failed or interrupted run leaves no partial
// tree. A non-empty dir is refused unless force is set; with force, every
// file is staged in the same temporary directory first and then renamed
// over its target one by one, and files not generated are left alone.
func Write(ctx context.Context, dir string, files []File, force bool) (err error) {
	dir = filepath.Clean(dir)
	if err := CheckTarget(dir, force); err != nil {
		return err
	}
	empty, _ := isEmptyDir(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return &TargetError{dir, err}
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".zdgen-*")
	if err != nil {
		return &TargetError{dir, err}
	}
	defer func() {
		if rmErr := os.RemoveAll(stage); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeFile(stage, f); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if empty {
		// The target is absent or an empty directory: replace it whole.
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &TargetError{dir, err}
		}
		if err := os.Chmod(stage, 0o755); err != nil {
			return err
		}
		return os.Rename(stage, dir)
	}
	for _, f := range files {
		if err := moveInto(stage, dir, f.Path); err != nil {
			return err
		}
	}
	return nil
}

// CheckTarget says whether Write would accept dir: absent or empty, or
// any directory with force; never a file or a symbolic link. --dry-run
// asks it too, so that it fails where the real run would.
func CheckTarget(dir string, force bool) error {
	dir = filepath.Clean(dir)
	empty, err := isEmptyDir(dir)
	if err != nil {
		return &TargetError{dir, err}
	}
	if !empty && !force {
		return &TargetError{dir, ErrTargetNotEmpty}
	}
	return nil
}

// writeFile writes one file below root, refusing any path that would
// leave it.
func writeFile(root string, f File) error {
	p, err := within(root, f.Path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, f.Content, f.Mode.Perm())
}

// moveInto renames a staged file over its place in dir. A symlink in dir on
// the way to the file is not followed: it is refused.
func moveInto(stage, dir, rel string) error {
	dst, err := within(dir, rel)
	if err != nil {
		return err
	}
	for p := filepath.Dir(dst); p != dir && strings.HasPrefix(p, dir); p = filepath.Dir(p) {
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return &TargetError{dir, fmt.Errorf("%s is a symbolic link; zdgen does not write through links", p)}
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	src, _ := within(stage, rel)
	return os.Rename(src, dst)
}

// within joins a slash-separated relative path to root and checks the
// result stays below root.
func within(root, rel string) (string, error) {
	if rel == "" || filepath.IsAbs(rel) || strings.Contains(rel, "\\") {
		return "", fmt.Errorf("refusing file path %q", rel)
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if r, err := filepath.Rel(root, p); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("refusing file path %q: it leaves the output directory", rel)
	}
	return p, nil
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

// commitHook, when set (by tests), runs before each rename of the commit
// phase of ApplyUpgrade; an error stops it there, as a crash would.
var commitHook func(i int) error

// ApplyUpgrade writes an upgrade into the repository at dir, all or
// nothing as far as a process can promise it:
//
//   - every new content is first written to a staging directory inside dir
//     (same file system, so renames are atomic); an error or a cancelled ctx
//     (Ctrl-C) in this phase removes the staging directory and leaves the
//     tree exactly as it was;
//   - then the staged files are renamed over their targets, files to remove
//     are removed, and .zdgen.yaml is renamed last. This phase takes
//     milliseconds and does not stop for ctx. If the process is killed
//     within it, the old lock is still in place, and running the upgrade
//     again finishes it with the same result (files already new count as
//     unchanged).
func ApplyUpgrade(ctx context.Context, dir string, u *Upgrade) (err error) {
	dir = filepath.Clean(dir)
	stage, err := os.MkdirTemp(dir, ".zdgen-upgrade-*")
	if err != nil {
		return err
	}
	defer func() {
		if rmErr := os.RemoveAll(stage); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	var moves, removals []string
	for _, c := range u.Changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !c.Writes() {
			continue
		}
		if !c.NewExists {
			removals = append(removals, c.Path)
			continue
		}
		mode := c.Mode
		if fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(c.Path))); err == nil {
			mode = fi.Mode() // keep the owner's permissions
		}
		if err := writeFile(stage, File{Path: c.Path, Mode: mode, Content: c.New}); err != nil {
			return err
		}
		moves = append(moves, c.Path)
	}
	if u.LockChanged() {
		if err := writeFile(stage, u.Lock); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	step := 0
	next := func() error {
		step++
		if commitHook != nil {
			return commitHook(step)
		}
		return nil
	}
	for _, p := range moves {
		if err := next(); err != nil {
			return err
		}
		if err := moveInto(stage, dir, p); err != nil {
			return err
		}
	}
	for _, p := range removals {
		if err := next(); err != nil {
			return err
		}
		if err := removeFrom(dir, p); err != nil {
			return err
		}
	}
	if !u.LockChanged() {
		return nil
	}
	if err := next(); err != nil {
		return err
	}
	return moveInto(stage, dir, LockPath)
}

// removeFrom removes a file below dir, and the directories it leaves empty.
func removeFrom(dir, rel string) error {
	p, err := within(dir, rel)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for d := filepath.Dir(p); d != dir && strings.HasPrefix(d, dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil { // not empty: stop
			break
		}
	}
	return nil
}
