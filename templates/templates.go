// Package templates holds the files zdgen generates, as text/template
// sources embedded in the binary. Each file is the generated file as it will
// look, ending in .tmpl, with actions written [[ .Like.This ]] (Go code is
// full of "{{"); "_name_" in a path stands for the service name.
//
// common/ holds every file both protocols generate, once: where HTTP and
// gRPC differ, a small [[ if eq .Answers.Protocol "grpc" ]] block says how,
// so that a fix to what they share is made once. http/ and grpc/ hold only
// files wholly of one protocol (the gRPC API, its handlers); a file there
// replaces the common file of the same path, and a test fails when one
// repeats more than a few lines of its counterpart.
//
// Where the protocols differ by more than a few words, a common template
// calls named parts ([[ template "serve" . ]]) that each protocol defines
// ([[ define "serve" ]]...[[ end ]]) in PROTOCOL/PATH.parts beside it,
// PATH being the common template's without .tmpl: the shared file then
// reads as one program, and each protocol's parts read whole. Both
// protocols define the same parts (a test checks it); the common template
// lists them.
//
// A Go template whose imports differ between answer sets lists them all,
// unconditionally, and says so on its import line:
//
//	import ( [[- /* unused imports are dropped */]]
//
// the renderer then drops from the rendered file the imports it does not
// use (package render), so the template shows the Go it produces rather
// than a second program choosing imports.
//
// The templates of every earlier release stay in the binary, frozen in
// releases/VERSION.txtar: `zdgen upgrade` rebuilds what that release
// generated for a repository (the merge base) from them. Releasing a new
// version is: freeze the current tree (go test ./templates -freeze), then
// raise Version. A frozen release is never edited; a test checks each
// against the checksum it was frozen with.
package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"golang.org/x/mod/semver"
	"golang.org/x/tools/txtar"
)

// Version is the version of the templates in common/, http/ and grpc/. It is
// recorded in every generated repository's .zdgen.yaml.
const Version = "0.8.0"

// FS is the current template tree.
//
//go:embed all:common all:http all:grpc
var FS embed.FS

//go:embed releases/*.txtar
var releases embed.FS

// Releases lists the versions whose templates this binary carries, oldest
// first, the current one last.
func Releases() []string {
	entries, _ := fs.ReadDir(releases, "releases")
	vs := []string{Version}
	for _, e := range entries {
		vs = append(vs, strings.TrimSuffix(e.Name(), ".txtar"))
	}
	sort.Slice(vs, func(i, j int) bool { return Compare(vs[i], vs[j]) < 0 })
	return vs
}

// Compare orders two versions as semantic versions ("0.1.0" < "0.10.0").
func Compare(a, b string) int { return semver.Compare("v"+a, "v"+b) }

// Valid reports whether v is a semantic version as zdgen writes them
// ("0.2.0", no "v").
func Valid(v string) bool { return !strings.HasPrefix(v, "v") && semver.IsValid("v"+v) }

// ForVersion returns the template tree of a release: the current tree for
// Version, a frozen one for an earlier release.
func ForVersion(v string) (fs.FS, error) {
	if v == Version {
		return FS, nil
	}
	load, ok := frozen()[v]
	if !ok {
		return nil, fmt.Errorf("zdgen %s carries no templates of version %q (it has %s)", Version, v, strings.Join(Releases(), ", "))
	}
	return load()
}

// frozen maps each frozen release to a loader of its tree, parsed once.
var frozen = sync.OnceValue(func() map[string]func() (fs.FS, error) {
	m := map[string]func() (fs.FS, error){}
	entries, _ := fs.ReadDir(releases, "releases")
	for _, e := range entries {
		name := "releases/" + e.Name()
		m[strings.TrimSuffix(e.Name(), ".txtar")] = sync.OnceValues(func() (fs.FS, error) {
			b, err := releases.ReadFile(name)
			if err != nil {
				return nil, err
			}
			return txtar.FS(txtar.Parse(b))
		})
	}
	return m
})
