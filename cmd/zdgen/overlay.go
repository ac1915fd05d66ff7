package main

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/upgrade"
	"github.com/zdgen/zdgen/workload"
)

// openOverlay reads the overlay --overlay names (nil when s is empty),
// fetching a module release, and checks that it supports this zdgen's
// templates.
func openOverlay(ctx context.Context, s string) (*overlay.Applied, error) {
	if s == "" {
		return nil, nil
	}
	src, err := overlay.ParseSource(s)
	if err != nil {
		return nil, usageError{fmt.Errorf("--overlay: %w", err)}
	}
	ov, err := overlay.Open(ctx, src, "")
	if err != nil {
		if ctx.Err() != nil {
			return nil, errInterrupted
		}
		return nil, err
	}
	if err := ov.Supports(render.Version); err != nil {
		return nil, err
	}
	return ov, nil
}

// overlayDir is how the lock of the repository at repo names the local
// overlay given as s: relative to the repository, so that an upgrade
// finds it from any working directory, and in another clone where the
// two sit side by side as here. It is "" for a module, which the lock
// names by its path.
func overlayDir(repo, s string) string {
	src, err := overlay.ParseSource(s)
	if err != nil || src.IsModule() {
		return ""
	}
	absOverlay, err := filepath.Abs(src.Dir)
	if err != nil {
		return filepath.ToSlash(src.Dir)
	}
	absRepo, err := filepath.Abs(repo)
	if err != nil {
		return filepath.ToSlash(absOverlay)
	}
	rel, err := filepath.Rel(absRepo, absOverlay)
	if err != nil {
		return filepath.ToSlash(absOverlay)
	}
	return filepath.ToSlash(rel)
}

// takeOverlayVersion takes --set overlay-version=V out of o's --set
// list, which then holds answers only.
func takeOverlayVersion(o upgradeOptions) (upgradeOptions, string, error) {
	var rest []string
	version := ""
	for _, kv := range o.set {
		k, v, _ := strings.Cut(kv, "=")
		if k != overlayVersionKey {
			rest = append(rest, kv)
			continue
		}
		if v == "" {
			return o, "", usageError{fmt.Errorf("--set %s: want a release such as v1.5.0", overlayVersionKey)}
		}
		version = v
	}
	o.set = rest
	return o, version, nil
}

// upgradeOverlays finds the overlay releases of an upgrade of the
// repository at repo: the one its lock records (the merge base's) and
// the one to move to — given by --overlay (none drops it), a module's
// release by --set overlay-version, or else the recorded one again (a
// local directory as it is now, so an overlay's next version can be
// tried before it is published).
func upgradeOverlays(ctx context.Context, repo string, lock spec.Lock, source, version string) (upgrade.Overlays, error) {
	var ov upgrade.Overlays
	rec := lock.Overlay
	if rec != nil {
		var err error
		if ov.Base, err = overlay.OpenRecorded(ctx, *rec, repo); err != nil {
			if ctx.Err() != nil {
				return ov, errInterrupted
			}
			return ov, err
		}
	}
	var err error
	switch {
	case source != "" && version != "":
		return ov, usageError{fmt.Errorf("--overlay and --set %s do not go together: give the release in --overlay (path@version)", overlayVersionKey)}
	case source == "none":
		ov.Next = nil
	case source != "":
		if ov.Next, err = openOverlay(ctx, source); err == nil {
			ov.Next.Record.Dir = overlayDir(repo, source)
		}
	case rec == nil:
		if version != "" {
			return ov, usageError{fmt.Errorf("--set %s: %s records no overlay; add one with --overlay", overlayVersionKey, spec.LockPath)}
		}
	case version != "":
		if rec.Module == "" {
			return ov, usageError{fmt.Errorf("--set %s: the overlay %s is a directory without a go.mod, so it has no releases to fetch: change the directory, or point --overlay at another", overlayVersionKey, rec.Dir)}
		}
		var src overlay.Source
		if src, err = overlay.ParseSource(rec.Module + "@" + version); err != nil {
			return ov, usageError{fmt.Errorf("--set %s: %w", overlayVersionKey, err)}
		}
		ov.Next, err = overlay.Open(ctx, src, "")
	case rec.Dir != "":
		dir := rec.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(repo, filepath.FromSlash(dir))
		}
		var o *overlay.Overlay
		if o, err = overlay.Load(dir); err == nil {
			ov.Next, err = overlay.Apply(o, "", rec.Dir)
		}
	default:
		ov.Next = ov.Base
	}
	if err != nil {
		if ctx.Err() != nil {
			return ov, errInterrupted
		}
		return ov, err
	}
	return ov, nil
}

// checkOverlaid judges the manifests of a service rendered with an
// overlay as kustomize builds them, components included, against the
// timing model and the selectors (as `zdgen rehearse` does before it
// runs): an overlay whose patch shortens the grace period, or replaces
// the Service's selector, say, is refused before anything is written,
// naming the overlay's component that does it. zdgen's own templates keep
// the model by construction.
func checkOverlaid(ov *overlay.Applied, files []spec.File) error {
	if ov == nil {
		return nil
	}
	if err := workload.CheckTree(spec.FS(files)); err != nil {
		return usageError{fmt.Errorf("with overlay %s%s: %w", ov.ID(), overlayFault(ov, err), err)}
	}
	return nil
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
