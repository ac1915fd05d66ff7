package generator_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rooms lists, for each package of zdgen's own, the zdgen packages it may
// import (outside its tests). Work flows one way — spec, render, write —
// composed by generator (Compose), with upgrade beside it; workload reads
// and judges what a repository declares, and rehearse runs it; only the
// command sees them all. A new import that crosses a room is a design
// change: make it here, on purpose, with CONTRIBUTING.md's Architecture
// section.
var rooms = map[string][]string{
	"templates":             nil,
	"generator/spec":        nil,
	"generator/render":      {"generator/spec", "templates"},
	"generator/write":       {"generator/spec"},
	"generator/overlay":     {"generator/spec", "generator/render"},
	"generator/upgrade":     {"generator", "generator/spec", "generator/render", "generator/overlay", "generator/write", "templates"},
	"generator":             {"generator/spec", "generator/render", "generator/overlay", "workload"},
	"workload":              {"generator/spec", "internal/kustomize"},
	"rehearse":              {"generator/spec", "workload"},
	"rehearse/kube":         {"generator/spec", "rehearse", "workload"},
	"internal/chromiumtest": nil,
	"internal/modproxy":     nil,
	"internal/kustomize":    nil,
	// Tests' repositories: what zdgen generates, for the tests of
	// workload, rehearse, upgrade and the command.
	"internal/repotest": {"generator", "generator/spec", "generator/write"},
}

const module = "github.com/zdgen/zdgen/"

// TestRoomsImportOneWay reads the imports of every non-test Go file in the
// rooms above and fails on an import the table does not allow; in
// particular workload and rehearse read the spec of a service, never its
// renderer, and workload never the rehearsal.
func TestRoomsImportOneWay(t *testing.T) {
	root := ".."
	for dir, allowed := range rooms {
		files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Errorf("%s: no Go files (%v): the table names a package that moved", dir, err)
			continue
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				rel, ok := strings.CutPrefix(p, module)
				if !ok || slices.Contains(allowed, rel) {
					continue
				}
				t.Errorf("%s imports %s: %s may import only %v", filepath.ToSlash(f), rel, dir, allowed)
			}
		}
	}
}

// TestRoomsTableIsOneWay keeps the table itself free of cycles: no room
// may reach itself through the imports the table allows (workload may not
// import rehearse, which imports workload).
func TestRoomsTableIsOneWay(t *testing.T) {
	var reaches func(from, to string, seen map[string]bool) bool
	reaches = func(from, to string, seen map[string]bool) bool {
		if from == to {
			return true
		}
		if seen[from] {
			return false
		}
		seen[from] = true
		return slices.ContainsFunc(rooms[from], func(next string) bool { return reaches(next, to, seen) })
	}
	for room, allowed := range rooms {
		for _, imp := range allowed {
			if reaches(imp, room, map[string]bool{}) {
				t.Errorf("%s may import %s, which may import %s back: the table has a cycle", room, imp, room)
			}
		}
	}
}

// TestRoomsCoverEveryPackage keeps the table complete: a new package of
// zdgen's (outside cmd/, examples/ and the test rigs) must say where it
// sits.
func TestRoomsCoverEveryPackage(t *testing.T) {
	root := ".."
	for _, top := range []string{"generator", "workload", "rehearse", "templates", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			goFiles, _ := filepath.Glob(filepath.Join(p, "*.go"))
			hasCode := slices.ContainsFunc(goFiles, func(f string) bool { return !strings.HasSuffix(f, "_test.go") })
			rel, _ := filepath.Rel(root, p)
			if _, listed := rooms[filepath.ToSlash(rel)]; hasCode && !listed {
				t.Errorf("package %s is not in the rooms table of layout_test.go", filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
