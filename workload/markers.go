package workload

import (
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/zdgen/zdgen/generator/spec"
)

// Bounds on the conflict-marker scan: a generated repository's files are
// small, and a scan stops at what it has to say.
const (
	maxMarkerScan  = 16 << 20 // bytes read of one file
	maxMarkerLines = 10       // file:line places named
)

// checkMarkers refuses a repository with unresolved conflict markers
// (spec.ConflictMarkers, the lines zdgen upgrade refuses to merge into)
// in .zdgen.yaml, a file it records or a file below deploy/k8s, naming
// each file and line: a half-merged repository is no deployment to
// rehearse, and the YAML parser would only say where it lost its way.
// What is missing or not a regular file, the rest of Load reports.
func checkMarkers(fsys fs.FS) error {
	paths := []string{spec.LockPath}
	if b, err := readBounded(fsys, spec.LockPath); err == nil && len(spec.ConflictMarkers(b)) == 0 {
		if l, err := spec.ParseLock(b); err == nil {
			for _, f := range l.Files {
				paths = append(paths, f.Path)
			}
		}
	}
	_ = fs.WalkDir(fsys, k8sDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil // what cannot be walked, the build reports
	})
	seen := map[string]bool{}
	var found []string
	n := 0
	for _, p := range paths {
		if seen[p] || !fs.ValidPath(p) {
			continue
		}
		seen[p] = true
		b, err := readBounded(fsys, p)
		if err != nil {
			continue
		}
		for _, line := range spec.ConflictMarkers(b) {
			if n++; n <= maxMarkerLines {
				found = append(found, fmt.Sprintf("%s:%d", p, line))
			}
		}
	}
	if n > maxMarkerLines {
		found = append(found, fmt.Sprintf("and %d more", n-maxMarkerLines))
	}
	if n > 0 {
		return inputErrorf("unresolved conflict markers (<<<<<<<) at %s: the repository is half merged; resolve them and commit first", strings.Join(found, ", "))
	}
	return nil
}

// readBounded reads the regular file p of fsys, at most maxMarkerScan
// bytes of it; a FIFO or device is never opened.
func readBounded(fsys fs.FS, p string) ([]byte, error) {
	fi, err := fs.Stat(fsys, p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxMarkerScan))
}
