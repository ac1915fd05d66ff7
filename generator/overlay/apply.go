package overlay

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// KustomizationPath is the generated kustomization that lists an
// overlay's components.
const KustomizationPath = "deploy/k8s/kustomization.yaml"

// Applied is an overlay as a service uses it: loaded, with the record
// .zdgen.yaml keeps of it (where it comes from, its checksum).
type Applied struct {
	*Overlay
	Record spec.Overlay
	local  string // the directory it was opened from by OpenSource, if any
}

// Apply records o for a service. module is the module it was fetched
// as ("" for a directory), dir the directory it is read from as the
// lock records it ("" for a fetched module). A module overlay must be
// the release it was fetched as: its overlay.yaml names that version
// and its go.mod that module, so that what the lock records is what the
// proxy serves.
func Apply(o *Overlay, module, dir string) (*Applied, error) {
	if module != "" && o.Module != module {
		return nil, o.fail("go.mod", "declares module %q, but the overlay was fetched as %s", spec.Clip(o.Module), module)
	}
	sum, err := o.Sum()
	if err != nil {
		return nil, o.fail("", "checksum: %v", err)
	}
	if module == "" {
		module = o.Module // a checkout of a module: an upgrade can fetch its releases
	}
	return &Applied{Overlay: o, Record: spec.Overlay{
		Name: o.Name, Version: o.Version, Module: module, Dir: dir, Sum: sum, Components: o.Components(),
	}}, nil
}

// Layer puts the overlay a on top of the files zdgen's templates of
// version rendered for plan p (without the lock): its files added or
// replacing zdgen's, its components listed in the kustomization. The
// result is sorted by path; files is not changed. p.Overlay must be a's
// record, as the templates read it.
//
// The overlay's templates render under bounds (see Overlay.Render); a
// file of the overlay that would replace one the service's owner
// writes, or whose path is a directory of another file or lies inside
// one (internal, Dockerfile/x), is a broken overlay: a
// *spec.InputError naming the overlay's file. When ctx is done, Layer
// returns ctx.Err().
func (a *Applied) Layer(ctx context.Context, version string, p *spec.Plan, files []spec.File) ([]spec.File, error) {
	extra, err := a.render(ctx, version, p)
	if err != nil {
		return nil, err
	}
	byPath := map[string]int{}
	merged := make([]spec.File, 0, len(files)+len(extra))
	for _, f := range files {
		byPath[f.Path] = len(merged)
		merged = append(merged, f)
	}
	src := map[string]string{} // the overlay's files by service path
	for _, f := range extra {
		src[f.Path] = f.src
		i, ok := byPath[f.Path]
		if !ok {
			merged = append(merged, f.File)
			continue
		}
		if merged[i].Owner == spec.OwnerUser {
			return nil, a.fail(f.src, "replaces %s, which zdgen hands to the service's owner (owner: user in .zdgen.yaml) to write their own code in; an overlay adds files or replaces zdgen's own, never the owner's", f.Path)
		}
		merged[i] = f.File
	}
	if err := a.checkNesting(merged, src); err != nil {
		return nil, err
	}
	if comps := a.Record.Components; len(comps) > 0 {
		i, ok := byPath[KustomizationPath]
		if !ok {
			return nil, a.fail("kustomize", "zdgen %s generates no %s to list the components in", version, KustomizationPath)
		}
		k := merged[i]
		if k.Content, err = listComponents(k.Content, a.ID(), comps); err != nil {
			return nil, a.fail("kustomize", "%v", err)
		}
		merged[i] = k
	}
	sort.Slice(merged, func(i, j int) bool { return merged[i].Path < merged[j].Path })
	return merged, nil
}

// checkNesting refuses a service in which a file's path is a directory
// of another file (internal and internal/server/server.go): no file
// system holds both, so writing it would fail half-way with "not a
// directory", and an upgrade would record a file it could not write.
// One of the two is the overlay's (src maps its files' paths to their
// sources); the error names it, and the lock counts as zdgen's.
func (a *Applied) checkNesting(files []spec.File, src map[string]string) error {
	paths := map[string]bool{spec.LockPath: true}
	for _, f := range files {
		paths[f.Path] = true
	}
	for _, f := range files {
		for i := strings.Index(f.Path, "/"); i >= 0; i = next(f.Path, i) {
			dir := f.Path[:i]
			if !paths[dir] {
				continue
			}
			switch {
			case src[dir] != "" && src[f.Path] != "":
				return a.fail(src[dir], "renders to %s, a directory of the overlay's own %s (from %s): a path cannot be a file and a directory", dir, f.Path, src[f.Path])
			case src[dir] != "":
				return a.fail(src[dir], "renders to %s, a directory zdgen generates (%s is in it): a path cannot be a file and a directory", dir, f.Path)
			case src[f.Path] != "":
				return a.fail(src[f.Path], "renders to %s, inside %s, which zdgen generates as a file: a path cannot be a file and a directory", f.Path, dir)
			default:
				return fmt.Errorf("zdgen generates both %s and %s", dir, f.Path)
			}
		}
	}
	return nil
}

// next is the index of the slash in p after the one at i, or -1.
func next(p string, i int) int {
	j := strings.Index(p[i+1:], "/")
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// listComponents appends the components to a kustomization, which is a
// single YAML mapping: a key added at its end, with a comment that says
// where the entries come from. A kustomization that lists components
// already (an overlay's template replaced it) is refused rather than
// given the key twice.
func listComponents(k []byte, id string, comps []string) ([]byte, error) {
	if bytes.HasPrefix(k, []byte("components:")) || bytes.Contains(k, []byte("\ncomponents:")) {
		return nil, fmt.Errorf("%s already lists components; the overlay's are added by zdgen: leave the key out of a replaced kustomization", KustomizationPath)
	}
	var b bytes.Buffer
	b.Write(k)
	if len(k) > 0 && k[len(k)-1] != '\n' {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "# The organisation overlay %s: its changes to the objects above\n", id)
	b.WriteString("# (labels, patches) as kustomize components, copied into overlay/.\n")
	b.WriteString("components:\n")
	for _, c := range comps {
		b.WriteString("  - " + strings.TrimSpace(c) + "\n")
	}
	return b.Bytes(), nil
}

// Open reads the overlay src names for a new service: a module release
// is fetched with the go command (Latest resolved), a directory read in
// place. dir is how the lock is to name a directory (relative to the
// repository), ignored for a module.
func Open(ctx context.Context, src Source, dir string) (*Applied, error) {
	if !src.IsModule() {
		o, err := Load(src.Dir)
		if err != nil {
			return nil, err
		}
		return Apply(o, "", dir)
	}
	f, err := Fetch(ctx, src)
	if err != nil {
		return nil, err
	}
	return fromModule(f)
}

// fromModule loads a fetched release, which must be what it was fetched
// as: overlay.yaml's version is the module's, and the checksum zdgen
// computes is the one the go command verified.
func fromModule(f Fetched) (*Applied, error) {
	o, err := Load(f.Dir)
	if err != nil {
		return nil, err
	}
	if o.Version != f.Version {
		return nil, o.fail(FileName, "says version %s, but it was fetched as %s@%s: a release's overlay.yaml names the release's tag", o.Version, f.Path, f.Version)
	}
	a, err := Apply(o, f.Path, "")
	if err != nil {
		return nil, err
	}
	if a.Record.Sum != f.Sum {
		return nil, o.fail("", "checksum %s differs from the module's %s", a.Record.Sum, f.Sum)
	}
	return a, nil
}

// OpenSource opens the overlay s names as a command gives it (a directory
// or a module path@version), and checks that it supports this zdgen's
// templates. A directory is recorded once the repository is known
// (Locate).
func OpenSource(ctx context.Context, s string) (*Applied, error) {
	src, err := ParseSource(s)
	if err != nil {
		return nil, spec.BadInput(fmt.Errorf("--overlay: %w", err))
	}
	a, err := Open(ctx, src, "")
	if err != nil {
		return nil, err
	}
	a.local = src.Dir
	if err := a.Supports(render.Version); err != nil {
		return nil, err
	}
	return a, nil
}

// Locate records an overlay opened from a directory (OpenSource) for the
// repository at repo: relative to the repository, so that an upgrade
// finds it from any working directory, and in another clone where the two
// sit side by side as here. A module is recorded by its path instead.
func (a *Applied) Locate(repo string) {
	if a.local != "" {
		a.Record.Dir = relativeTo(repo, a.local)
	}
}

// relativeTo is dir as seen from the repository at repo, slash-separated
// (absolute when it cannot be made relative).
func relativeTo(repo, dir string) string {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return filepath.ToSlash(dir)
	}
	absRepo, err := filepath.Abs(repo)
	if err != nil {
		return filepath.ToSlash(absDir)
	}
	rel, err := filepath.Rel(absRepo, absDir)
	if err != nil {
		return filepath.ToSlash(absDir)
	}
	return filepath.ToSlash(rel)
}

// OpenRecordedDir reads the overlay in the directory a lock records (rec,
// as the lock names it: relative to the repository at repoDir, or
// absolute) as it is now, recorded under the same name.
func OpenRecordedDir(rec, repoDir string) (*Applied, error) {
	o, err := Load(recordedDir(rec, repoDir))
	if err != nil {
		return nil, err
	}
	return Apply(o, "", rec)
}

// recordedDir is the directory a lock's rec names, for the repository at
// repoDir.
func recordedDir(rec, repoDir string) string {
	if filepath.IsAbs(rec) {
		return rec
	}
	return filepath.Join(repoDir, filepath.FromSlash(rec))
}

// OpenRecorded finds the overlay release a lock records, for the merge
// base of an upgrade of the repository at repoDir: the recorded directory
// when it still holds that release (same version, same checksum), else
// the recorded module's release fetched by version. When neither can be
// had, the error (bad input, exit 2) says what to do.
func OpenRecorded(ctx context.Context, rec spec.LockOverlay, repoDir string) (*Applied, error) {
	id := rec.Name + "@" + rec.Version
	var why []string
	if rec.Dir != "" {
		dir := recordedDir(rec.Dir, repoDir)
		o, err := Load(dir)
		switch {
		case err != nil:
			why = append(why, err.Error())
		case o.Version != rec.Version:
			why = append(why, fmt.Sprintf("directory %s now holds %s", dir, o.ID()))
		default:
			if a, err := Apply(o, "", rec.Dir); err != nil {
				why = append(why, err.Error())
			} else if a.Record.Sum != rec.Sum {
				why = append(why, fmt.Sprintf("directory %s holds %s with other content than was generated from (checksum %s, recorded %s)", dir, id, a.Record.Sum, rec.Sum))
			} else {
				return a, nil
			}
		}
	}
	if rec.Module != "" {
		f, err := Fetch(ctx, Source{Path: rec.Module, Version: rec.Version})
		if err == nil {
			var a *Applied
			if a, err = fromModule(f); err == nil {
				if a.Record.Sum != rec.Sum {
					return nil, &spec.InputError{Field: "overlay", Rule: fmt.Sprintf("%s: the module release %s@%s has checksum %s, but the repository was generated from content with checksum %s: was the overlay changed without a new version?", id, rec.Module, rec.Version, a.Record.Sum, rec.Sum)}
				}
				a.Record.Dir = rec.Dir
				return a, nil
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		why = append(why, err.Error())
	}
	return nil, &spec.InputError{Field: "overlay", Rule: fmt.Sprintf(
		"cannot rebuild what overlay %s generated, which an upgrade merges from: %s. Make that release available again: check out its tag %s in the overlay's directory, or publish it as a module release",
		id, strings.Join(why, "; "), rec.Version)}
}

// CIWarning warns of a service with answers a generated from the local
// overlay directory source (as given), outside the repository, with the
// CI workflow: the workflow's zdgen upgrade --check job runs in a
// checkout of the repository alone, where the directory is not, so it
// fails from the first push. The way out is a published release of the
// overlay, which the job fetches by version like a dependency. "" when
// there is nothing to warn of (ov may be nil).
func (ov *Applied) CIWarning(a spec.Answers, source string) string {
	if ov == nil || a.CI != spec.CIGitHub || ov.Record.Dir == "" {
		return ""
	}
	if d := ov.Record.Dir; !filepath.IsAbs(filepath.FromSlash(d)) && d != ".." && !strings.HasPrefix(d, "../") {
		return "" // inside the repository: the checkout has it
	}
	release := "MODULE@" + ov.Version
	publish := "publish the overlay as a Go module (a go.mod, and the tag " + ov.Version + ")"
	if ov.Module != "" {
		release = ov.Module + "@" + ov.Version
		publish = "publish the overlay (tag " + ov.Version + " of " + ov.Module + ")"
	}
	return fmt.Sprintf("the overlay is the local directory %s, which the CI workflow's zdgen upgrade --check job cannot find: it runs in a checkout of this repository alone, so it fails until you %s and run zdgen upgrade --overlay %s here (the workflow is .github/workflows/ci.yaml; --ci none generates none)", source, publish, release)
}
