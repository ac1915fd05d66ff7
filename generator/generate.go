package generator

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/workload"
)

// Service is what a repository is generated from: zdgen's templates of a
// version, the answers, and an organisation overlay on top.
type Service struct {
	// Version is the templates' version: "" for this zdgen's, or an
	// earlier release's (an upgrade's merge base).
	Version string
	Answers spec.Answers
	// Overlay is the organisation overlay layered on, nil for none. Its
	// Record is what the lock and the templates say of it.
	Overlay *overlay.Applied
	// Owners are the owners a repository's lock records by path: a file
	// its owner made theirs (owner: user) stays theirs in the new lock.
	Owners map[string]string
}

// Compose makes the service s describes: the answers checked (and the
// overlay's rules against them), planned, rendered with the templates of
// s.Version, the overlay layered on, and the lock built last from what
// is there. It is the one place a service is put together: zdgen new, both
// renders of an upgrade and zdgen overlay check go through it, so that an
// upgrade's merge base and its new render are made the same way.
//
// With an overlay on this zdgen's templates, the manifests are also
// judged as kustomize builds them, the overlay's components included
// (the timing model, the selectors): an overlay whose patch shortens the
// grace period is refused here, naming its component. zdgen's own
// templates keep the model by construction, and a frozen release is not
// judged by rules newer than itself.
//
// Bad answers, and an overlay that breaks a rule, are bad input (exit 2);
// when ctx is done, Compose returns ctx.Err().
func Compose(ctx context.Context, s Service) (*spec.Plan, []spec.File, error) {
	return compose(ctx, s, true)
}

// compose is Compose; rules says whether the overlay's rules must accept
// the answers (overlay check renders answer sets they refuse too).
func compose(ctx context.Context, s Service, rules bool) (*spec.Plan, []spec.File, error) {
	version := s.Version
	if version == "" {
		version = render.Version
	}
	if err := spec.CheckFields(s.Answers); err != nil {
		return nil, nil, err
	}
	ov := s.Overlay
	if ov != nil {
		if err := ov.Supports(version); err != nil {
			return nil, nil, err
		}
		if rules {
			if err := ov.Check(s.Answers); err != nil {
				return nil, nil, err
			}
		}
	}
	p, err := spec.NewPlan(s.Answers)
	if err != nil {
		return nil, nil, err
	}
	if ov != nil {
		rec := ov.Record
		p.Overlay = &rec
	}
	files, err := render.RenderVersion(version, p)
	if err != nil {
		return nil, nil, err
	}
	if ov != nil {
		if files, err = ov.Layer(ctx, version, p, files); err != nil {
			return nil, nil, err
		}
	}
	l := spec.NewLock(version, p, files)
	for i, f := range l.Files {
		if s.Owners[f.Path] == spec.OwnerUser {
			l.Files[i].Owner = spec.OwnerUser
		}
	}
	lock, err := l.File()
	if err != nil {
		return nil, nil, err
	}
	i, _ := slices.BinarySearchFunc(files, lock.Path, func(f spec.File, p string) int { return strings.Compare(f.Path, p) })
	files = slices.Insert(slices.Clip(files), i, lock)
	if ov != nil && version == render.Version {
		if err := workload.CheckTree(spec.FS(files)); err != nil {
			return nil, nil, spec.BadInput(&builtError{ov, err})
		}
	}
	return p, files, nil
}

// builtError is the built manifests of a service with an overlay failing
// the checks: it names the overlay, and its components at fault.
type builtError struct {
	ov  *overlay.Applied
	err error
}

func (e *builtError) Error() string {
	return fmt.Sprintf("with overlay %s%s: %v", e.ov.ID(), overlayFault(e.ov, e.err), e.err)
}

func (e *builtError) Unwrap() error { return e.err }

// Generate composes a service from answers alone, with this zdgen's
// templates and no overlay: the whole pipeline short of writing. Bad
// answers come back as *spec.InputError.
func Generate(a spec.Answers) (*spec.Plan, []spec.File, error) {
	return Compose(context.Background(), Service{Answers: a})
}

// overlayFault names, for a refusal of the built manifests, the overlay's
// components that bring it (", its component kustomize/NAME"), as the
// overlay's own tree holds them: the service has them as
// deploy/k8s/overlay/NAME. "" when the manifests fail without them too.
func overlayFault(ov *overlay.Applied, err error) string {
	var dirs []string
	for _, c := range workload.ComponentsAtFault(err) {
		name, ok := strings.CutPrefix(c, path.Base(overlay.KustomizeDir)+"/")
		if ok && slices.Contains(ov.Record.Components, c) {
			dirs = append(dirs, "kustomize/"+name)
		}
	}
	switch len(dirs) {
	case 0:
		return ""
	case 1:
		return ", its component " + dirs[0]
	}
	return ", its components " + andList(dirs)
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
