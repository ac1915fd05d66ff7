package upgrade

import (
	"context"
	"fmt"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/spec"
)

// OverlayVersionKey is the --set key that moves a module overlay to
// another release. It is not an answer: the lock records it with the
// overlay.
const OverlayVersionKey = "overlay-version"

// Overlays are the organisation overlay releases of an upgrade: Base the
// one the lock records (nil without one), which the merge base is
// rebuilt with; Next the one the new render uses (nil to generate
// without one).
type Overlays struct {
	Base, Next *overlay.Applied
}

// OverlayChoice is what an upgrade is told of the overlay to move to.
type OverlayChoice struct {
	// Source is another overlay (a directory or a module path@version),
	// "none" to drop it, "" to keep the recorded one.
	Source string
	// Version is another release of the recorded module overlay, "" for
	// none.
	Version string
}

// FindOverlays finds the overlay releases of an upgrade of the repository
// at repo: the one its lock records (the merge base's) and the one to
// move to — c.Source (none drops it), a module's release c.Version, or
// else the recorded one again (a local directory as it is now, so that an
// overlay's next version can be tried before it is published).
func FindOverlays(ctx context.Context, repo string, lock spec.Lock, c OverlayChoice) (Overlays, error) {
	var ov Overlays
	rec := lock.Overlay
	if rec != nil {
		var err error
		if ov.Base, err = overlay.OpenRecorded(ctx, *rec, repo); err != nil {
			return ov, err
		}
	}
	var err error
	switch {
	case c.Source != "" && c.Version != "":
		return ov, &spec.InputError{Field: OverlayVersionKey, Value: c.Version, Rule: "does not go together with --overlay: give the release in --overlay (path@version)"}
	case c.Source == "none":
		ov.Next = nil
	case c.Source != "":
		if ov.Next, err = overlay.OpenSource(ctx, c.Source); err == nil {
			ov.Next.Locate(repo)
		}
	case rec == nil:
		if c.Version != "" {
			return ov, &spec.InputError{Field: OverlayVersionKey, Value: c.Version, Rule: fmt.Sprintf("%s records no overlay; add one with --overlay", spec.LockPath)}
		}
	case c.Version != "":
		if rec.Module == "" {
			return ov, &spec.InputError{Field: OverlayVersionKey, Value: c.Version, Rule: fmt.Sprintf("the overlay %s is a directory without a go.mod, so it has no releases to fetch: change the directory, or point --overlay at another", rec.Dir)}
		}
		var src overlay.Source
		if src, err = overlay.ParseSource(rec.Module + "@" + c.Version); err != nil {
			return ov, spec.BadInput(fmt.Errorf("--set %s: %w", OverlayVersionKey, err))
		}
		ov.Next, err = overlay.Open(ctx, src, "")
	case rec.Dir != "":
		ov.Next, err = overlay.OpenRecordedDir(rec.Dir, repo)
	default:
		ov.Next = ov.Base
	}
	return ov, err
}
