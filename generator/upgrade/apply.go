package upgrade

import (
	"context"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/write"
)

// commitHook, when set (by tests), runs before each rename of the commit
// phase of Apply; an error stops it there, as a crash would.
var commitHook func(i int) error

// Apply writes an upgrade into the repository at dir, all or nothing as
// far as a process can promise it:
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
func Apply(ctx context.Context, dir string, u *Upgrade) (err error) {
	stage, err := write.NewStaging(dir)
	if err != nil {
		return err
	}
	defer func() {
		if rmErr := stage.Close(); rmErr != nil && err == nil {
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
		if m, ok := stage.ModeOf(c.Path); ok {
			mode = m // keep the owner's permissions
		}
		if err := stage.Put(spec.File{Path: c.Path, Mode: mode, Content: c.New}); err != nil {
			return err
		}
		moves = append(moves, c.Path)
	}
	if u.LockChanged() {
		if err := stage.Put(u.Lock); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Every target is checked before the first rename, as zdgen new
	// --force does: a symbolic link on the way to one (made since the
	// plan read the tree) stops the upgrade here, with nothing renamed,
	// not half-way through with some files new and the lock old.
	targets := append(append([]string(nil), moves...), removals...)
	if u.LockChanged() {
		targets = append(targets, spec.LockPath)
	}
	for _, p := range targets {
		if err := stage.Check(p); err != nil {
			return err
		}
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
		if err := stage.Commit(p); err != nil {
			return err
		}
	}
	for _, p := range removals {
		if err := next(); err != nil {
			return err
		}
		if err := stage.Remove(p); err != nil {
			return err
		}
	}
	if !u.LockChanged() {
		return nil
	}
	if err := next(); err != nil {
		return err
	}
	return stage.Commit(spec.LockPath)
}
