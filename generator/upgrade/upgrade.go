// Package upgrade brings a generated repository to this zdgen's templates
// and to changed answers, keeping its owner's edits: it rebuilds the base
// the lock's version generated, decides each file three-way (PlanUpgrade,
// Merge3), moves imports when the module path changes, holds the
// repository rules (a clean git work tree, no unresolved conflict
// markers, no writing through links), and applies the result through
// package write.
package upgrade

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/templates"
)

// LockError is a .zdgen.yaml that upgrade cannot work from: corrupt,
// edited by hand, or written by a newer zdgen. Nothing is written.
type LockError struct{ Reason string }

func (e *LockError) Error() string { return spec.LockPath + ": " + e.Reason }
func (*LockError) BadInput()       {} // bad input, exit 2 (spec.IsInputError)

// Outcome is what an upgrade does to one file.
type Outcome string

// The outcomes, decided from the merge base (what the recorded version
// generated), the file on disk and the new render.
const (
	Unchanged    Outcome = "unchanged"             // nothing to do
	Updated      Outcome = "updated"               // untouched since generated: replaced by the new render
	Kept         Outcome = "kept"                  // only the owner changed it: left as the owner has it
	Merged       Outcome = "merged"                // both changed it, in different lines: both kept
	Conflict     Outcome = "conflict"              // both changed the same lines: markers written
	Added        Outcome = "added"                 // new in this version
	Removed      Outcome = "removed"               // no longer generated and untouched
	KeptObsolete Outcome = "kept, not generated"   // no longer generated but edited: left, with a warning
	StaysDeleted Outcome = "stays deleted"         // the owner deleted it: not brought back
	Yours        Outcome = "yours, not touched"    // owned by the user: never touched
	AddConflict  Outcome = "conflict (both added)" // new here, but the owner already has a different file there
	ImportsMoved Outcome = "yours, imports moved"  // the owner's Go file: imports of the old module path moved to the new one, nothing else
	YoursBehind  Outcome = "yours, not updated"    // owned by the user, not touched, but zdgen now generates it differently: reported
	Skipped      Outcome = "skipped"               // not a regular file (a symbolic link): neither read nor written, reported
)

// Change is the decision for one path, with the content before and after.
type Change struct {
	Path      string
	Outcome   Outcome
	Old       []byte // on disk now; nil when absent
	OldExists bool
	New       []byte // after the upgrade; nil when absent
	NewExists bool
	Mode      fs.FileMode // for a file written new
	Conflicts int         // conflict hunks written into New
	// Unlisted names the files (kustomization.yaml, skaffold.yaml) that
	// listed a file no longer generated and, after the upgrade, do not.
	Unlisted []string
	// Generated is generated code (a .pb.go): after resolving a conflict
	// in it, regenerate it from the .proto rather than edit it.
	Generated bool
	// SkippedAt says why a Skipped file is: the path (the file, or a
	// directory above it) that is a symbolic link or otherwise not what
	// the upgrade would read through. Nil when the disk did not say.
	SkippedAt *NotRegularError
}

// Writes reports whether the change touches the disk.
func (c Change) Writes() bool {
	return c.OldExists != c.NewExists || !bytes.Equal(c.Old, c.New)
}

// Upgrade is a computed upgrade, all in memory: nothing is on disk until
// Apply.
type Upgrade struct {
	From, To string // template versions
	// ModuleFrom and ModuleTo are the Go module path before and after.
	ModuleFrom, ModuleTo string
	// AnswersFrom and AnswersTo are the answers that change, as key=value,
	// before and after; empty when none does.
	AnswersFrom, AnswersTo []string
	// OverlayFrom and OverlayTo name the organisation overlay releases
	// (name@version) before and after; "" without one.
	OverlayFrom, OverlayTo string
	Plan                   *spec.Plan  // the new plan
	Render                 []spec.File // what the new plan renders, before any merge
	Changes                []Change
	// Lock is the new .zdgen.yaml, written last. LockOld is the one on disk.
	Lock    spec.File
	LockOld []byte
}

// Conflicts lists the paths left with conflict markers.
func (u *Upgrade) Conflicts() []string {
	var ps []string
	for _, c := range u.Changes {
		if c.Conflicts > 0 {
			ps = append(ps, c.Path)
		}
	}
	return ps
}

// Pending reports whether applying the upgrade would change anything on
// disk, the lock included.
func (u *Upgrade) Pending() bool {
	for _, c := range u.Changes {
		if c.Writes() {
			return true
		}
	}
	return u.LockChanged()
}

// LockChanged reports whether the new .zdgen.yaml differs from the one on
// disk.
func (u *Upgrade) LockChanged() bool { return !bytes.Equal(u.LockOld, u.Lock.Content) }

// Disk reads one repository file by its slash-separated path: its content,
// or ok=false when it does not exist. An error wrapping ErrNotRegular (a
// symbolic link, a directory) skips that file: the upgrade reports it and
// leaves it alone.
type Disk func(path string) (content []byte, ok bool, err error)

// ErrNotRegular is a repository path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError is a repository path the upgrade skips: At, the path
// itself or a directory on the way to it, is What (a symbolic link, not a
// directory, not a regular file). It is an ErrNotRegular.
type NotRegularError struct{ At, What string }

func (e *NotRegularError) Error() string        { return e.At + " is " + e.What }
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// PlanUpgrade decides, file by file, how to bring a repository generated
// with old (its parsed .zdgen.yaml, whose bytes are lockOld) to this zdgen's
// templates and the answers a, three-way:
//
//   - base: what old.Version generated for old.Answers, rebuilt from that
//     version's frozen templates and checked against the lock's checksums;
//   - ours: the file on disk, as its owner left it;
//   - theirs: what this version generates for a.
//
// The new lock records the new render's checksums (not the merged files'),
// so the next upgrade's base is exactly this render and a second upgrade
// changes nothing.
func PlanUpgrade(old spec.Lock, lockOld []byte, a spec.Answers, disk Disk) (*Upgrade, error) {
	return PlanUpgradeWith(context.Background(), old, lockOld, a, disk, Overlays{})
}

// PlanUpgradeWith is PlanUpgrade for a repository generated with an
// organisation overlay, or moving to one: the base is rebuilt with the
// recorded templates and ov.Base, the new render made with this zdgen's
// templates and ov.Next. Next must support this zdgen's templates, and
// its rules must accept a.
func PlanUpgradeWith(ctx context.Context, old spec.Lock, lockOld []byte, a spec.Answers, disk Disk, ov Overlays) (*Upgrade, error) {
	if err := checkLock(old); err != nil {
		return nil, err
	}
	if (old.Overlay == nil) != (ov.Base == nil) {
		return nil, fmt.Errorf("upgrade: the lock's overlay (%v) and the merge base's (%v) disagree", old.Overlay != nil, ov.Base != nil)
	}
	base, err := rebuildBase(ctx, old, ov.Base)
	if err != nil {
		return nil, err
	}
	// The lock says who owns a file: the template's default, or the owner's
	// own choice of `owner: user` in .zdgen.yaml, which sticks.
	owner := map[string]string{}
	for _, lf := range old.Files {
		owner[lf.Path] = lf.Owner
	}
	plan, rendered, err := generator.Compose(ctx, generator.Service{Answers: a, Overlay: ov.Next, Owners: owner})
	if err != nil {
		return nil, err
	}
	u := &Upgrade{From: old.Version, To: render.Version, Plan: plan, Render: rendered, LockOld: lockOld, ModuleFrom: old.Answers.Module, ModuleTo: a.Module}
	u.Lock, _ = lockOf(rendered)
	u.compareAnswers(old.Answers, a)
	if ov.Base != nil {
		u.OverlayFrom = ov.Base.ID()
	}
	if ov.Next != nil {
		u.OverlayTo = ov.Next.ID()
	}
	if err := u.decide(base, byPath(rendered), owner, disk); err != nil {
		return nil, err
	}
	if err := u.moveOwnersImports(); err != nil {
		return nil, err
	}
	unlisted(u.Changes)
	return u, nil
}

// compareAnswers records the answers that change, as key=value.
func (u *Upgrade) compareAnswers(was, is spec.Answers) {
	for _, f := range spec.Fields {
		if from, to := f.Get(&was), f.Get(&is); from != to {
			u.AnswersFrom = append(u.AnswersFrom, f.Key+"="+from)
			u.AnswersTo = append(u.AnswersTo, f.Key+"="+to)
		}
	}
}

// labels name the two sides of a conflict: the versions, the overlays
// when either side has one, and the answers when they change (with the
// same version on both sides, the answers are the only difference).
func (u *Upgrade) labels() (baseLabel, nextLabel string) {
	baseLabel, nextLabel = "zdgen "+u.From, "zdgen "+u.To
	if u.OverlayFrom != "" || u.OverlayTo != "" {
		baseLabel += " + " + cmp.Or(u.OverlayFrom, "no overlay")
		nextLabel += " + " + cmp.Or(u.OverlayTo, "no overlay")
	}
	if len(u.AnswersTo) > 0 {
		baseLabel += " (" + strings.Join(u.AnswersFrom, ", ") + ")"
		nextLabel += " (" + strings.Join(u.AnswersTo, ", ") + ")"
	}
	return baseLabel, nextLabel
}

// decide fills in u.Changes: for every path the base or the new render
// has, what the upgrade does to it, from the base, the disk and the new
// render (next), file owners as owner records them.
func (u *Upgrade) decide(base, next map[string]spec.File, owner map[string]string, disk Disk) error {
	baseLabel, nextLabel := u.labels()
	paths := map[string]bool{}
	for p := range base {
		paths[p] = true
	}
	for p := range next {
		paths[p] = true
	}
	for _, p := range sortedKeys(paths) {
		b, inBase := base[p]
		n, inNext := next[p]
		d, onDisk, err := disk(p)
		if errors.Is(err, ErrNotRegular) {
			c := Change{Path: p, Outcome: Skipped, OldExists: true, NewExists: true}
			errors.As(err, &c.SkippedAt)
			u.Changes = append(u.Changes, c)
			continue
		}
		if err != nil {
			return err
		}
		c := Change{Path: p, Old: d, OldExists: onDisk, New: d, NewExists: onDisk, Mode: n.Mode}
		switch {
		case inBase && owner[p] == spec.OwnerUser:
			c.Outcome = Yours
			if inNext && !bytes.Equal(b.Content, n.Content) {
				c.Outcome = YoursBehind
			}
		case inBase && inNext:
			c = decideBoth(c, b.Content, n.Content, baseLabel, nextLabel)
		case inBase: // no longer generated
			switch {
			case !onDisk:
				c.Outcome = Unchanged
			case bytes.Equal(d, b.Content):
				c.Outcome, c.New, c.NewExists = Removed, nil, false
			default:
				c.Outcome = KeptObsolete
			}
		default: // new in this version
			switch {
			case !onDisk:
				c.Outcome, c.New, c.NewExists = Added, n.Content, true
			case bytes.Equal(d, n.Content):
				c.Outcome = Unchanged
			case n.Owner == spec.OwnerUser:
				c.Outcome = Yours
			default:
				c.New, c.Conflicts = Merge3(nil, d, n.Content, "yours", "(none)", nextLabel)
				c.Outcome = AddConflict
			}
		}
		u.Changes = append(u.Changes, c)
	}
	return nil
}

// moveOwnersImports follows a new module path: the owner's files import
// the old one's packages (gRPC handlers.go imports the API package), so
// those imports move; and imports the owner added to a file zdgen
// generates, which the merge keeps as the owner wrote them.
func (u *Upgrade) moveOwnersImports() error {
	for i := range u.Changes {
		switch c := u.Changes[i]; {
		case (c.Outcome == Yours || c.Outcome == YoursBehind) && c.OldExists:
			if err := u.MoveImports(c.Path, c.Old); err != nil {
				return err
			}
		case c.Outcome == Kept || c.Outcome == Merged:
			if err := u.MoveImports(c.Path, c.New); err != nil {
				return err
			}
		}
	}
	return nil
}

// lockOf is the lock among rendered files.
func lockOf(files []spec.File) (spec.File, bool) {
	for _, f := range files {
		if f.Path == spec.LockPath {
			return f, true
		}
	}
	return spec.File{}, false
}

// unlisted fills in, for each file no longer generated but kept, the other
// files that named it (by its path relative to theirs: kustomization.yaml
// lists pdb.yaml, skaffold.yaml deploy/k8s/pdb.yaml) before the upgrade
// and no longer do after it. A Markdown file (the README's table of files)
// describes files rather than uses them, so it is not counted: the owner
// need not list a file there again to keep it.
func unlisted(cs []Change) {
	for i, c := range cs {
		if c.Outcome != KeptObsolete {
			continue
		}
		for _, o := range cs {
			if path.Ext(o.Path) == ".md" {
				continue
			}
			ref, err := filepath.Rel(filepath.FromSlash(path.Dir(o.Path)), filepath.FromSlash(c.Path))
			if err != nil || !o.OldExists || !o.NewExists {
				continue
			}
			ref = filepath.ToSlash(ref)
			if bytes.Contains(o.Old, []byte(ref)) && !bytes.Contains(o.New, []byte(ref)) {
				cs[i].Unlisted = append(cs[i].Unlisted, o.Path)
			}
		}
	}
}

// decideBoth handles a file both the base and the new version generate;
// the labels name them in conflict markers.
func decideBoth(c Change, base, next []byte, baseLabel, nextLabel string) Change {
	d := c.Old
	// Generated code (the gRPC .pb.go files) names the tools that wrote it;
	// after `make proto` those lines say protoc's version where zdgen's
	// say zdgen's. They are not the owner's change: compare and merge as
	// if the owner's file had the base's (or the new render's) lines.
	asBase, asNext := withVersionsOf(c.Path, d, base), withVersionsOf(c.Path, d, next)
	_, _, c.Generated = versionLines(c.Path, next)
	switch {
	case !c.OldExists:
		c.Outcome = StaysDeleted
	case bytes.Equal(d, next):
		c.Outcome = Unchanged
	case bytes.Equal(d, base):
		c.Outcome, c.New = Updated, next
	case bytes.Equal(asNext, next), bytes.Equal(base, next):
		c.Outcome = Kept
	case bytes.Equal(asBase, base):
		c.Outcome, c.New = Updated, next
	default:
		c.New, c.Conflicts = Merge3(base, asBase, next, "yours", baseLabel, nextLabel)
		c.Outcome = Merged
		if c.Conflicts > 0 {
			c.Outcome = Conflict
		}
	}
	return c
}

// checkLock refuses a lock this zdgen cannot rebuild a base from.
func checkLock(l spec.Lock) error {
	switch {
	case l.Generator != "zdgen":
		return &LockError{fmt.Sprintf("generator is %q, not zdgen", l.Generator)}
	case !templates.Valid(l.Version):
		return &LockError{fmt.Sprintf("version %q is not a zdgen version", l.Version)}
	case templates.Compare(l.Version, render.Version) > 0:
		return &LockError{fmt.Sprintf("written by zdgen %s, newer than this zdgen (templates %s): install zdgen %s or later to upgrade this repository", l.Version, render.Version, l.Version)}
	}
	if _, err := templates.ForVersion(l.Version); err != nil {
		if oldest := templates.Releases()[0]; templates.Compare(l.Version, oldest) < 0 {
			return &LockError{fmt.Sprintf("written by zdgen %s, older than the oldest release this zdgen carries (%s; a zdgen carries its own templates and the %d releases before them): upgrade in two steps, first with zdgen %s, which carries older ones (go run github.com/zdgen/zdgen/cmd/zdgen@v%s upgrade), then with this one", l.Version, oldest, templates.Window, oldest, oldest)}
		}
		return &LockError{err.Error()}
	}
	return nil
}

// rebuildBase renders what the lock's version generated for its answers
// and checks it file by file against the recorded checksums: a base that
// differs would blame the owner for the generator's changes, or the other
// way round.
func rebuildBase(ctx context.Context, l spec.Lock, ov *overlay.Applied) (map[string]spec.File, error) {
	err := spec.CheckFields(l.Answers)
	if err == nil {
		_, err = spec.NewPlan(l.Answers)
	}
	if err != nil {
		return nil, &LockError{fmt.Sprintf("its answers are not valid (%v): was it edited by hand? Change answers with zdgen upgrade --set", err)}
	}
	_, files, err := generator.Compose(ctx, generator.Service{Version: l.Version, Answers: l.Answers, Overlay: ov})
	if err != nil {
		return nil, err
	}
	base := byPath(files)
	recorded := map[string]string{}
	for _, lf := range l.Files {
		recorded[lf.Path] = lf.SHA256
	}
	var bad []string
	for p, f := range base {
		if recorded[p] != f.Sum() {
			bad = append(bad, p)
		}
	}
	for p := range recorded {
		if _, ok := base[p]; !ok {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, &LockError{fmt.Sprintf("zdgen %s's templates with the recorded answers do not give the recorded checksums (%s): the lock is corrupt or was edited; restore it from version control", l.Version, strings.Join(bad, ", "))}
	}
	return base, nil
}

// byPath indexes rendered files by path, leaving out the lock.
func byPath(files []spec.File) map[string]spec.File {
	m := map[string]spec.File{}
	for _, f := range files {
		if f.Path != spec.LockPath {
			m[f.Path] = f
		}
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
