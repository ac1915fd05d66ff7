package upgrade

import (
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

func TestMoveImports(t *testing.T) {
	src := "// Package x is ours.\npackage x\n\nimport (\n\t\"fmt\" // \"example.com/shop\" in a comment stays\n\n\tapi \"example.com/shop/api/shop/v1\"\n\t\"example.com/shop\"\n\t_ \"example.com/shopping/other\"\n)\n\nimport `example.com/shop/internal/config`\n\nvar s = \"example.com/shop/in/a/string\"\n"
	want := "// Package x is ours.\npackage x\n\nimport (\n\t\"fmt\" // \"example.com/shop\" in a comment stays\n\n\tapi \"example.com/new/api/shop/v1\"\n\t\"example.com/new\"\n\t_ \"example.com/shopping/other\"\n)\n\nimport \"example.com/new/internal/config\"\n\nvar s = \"example.com/shop/in/a/string\"\n"
	got, n, err := moveImports("x.go", []byte(src), "example.com/shop", "example.com/new")
	if err != nil || n != 3 || string(got) != want {
		t.Errorf("moved %d, %v:\n%s\nwant:\n%s", n, err, got, want)
	}
	if _, _, err := moveImports("x.go", []byte("package x\n\nfunc (\nimport \"example.com/shop/a\"\n"), "example.com/shop", "example.com/new"); err == nil {
		t.Error("a file that does not parse and names the module: no error")
	}
	if b, n, err := moveImports("x.go", []byte("package x\n\nfunc (\n"), "example.com/shop", "example.com/new"); err != nil || n != 0 || string(b) != "package x\n\nfunc (\n" {
		t.Errorf("a broken file that does not name the module: %d, %v", n, err)
	}
}

// A gRPC service's handlers.go (owner: user) imports the API package of
// the module: a new module path moves that import and nothing else.
func TestUpgradeModuleMovesOwnedImports(t *testing.T) {
	a := spec.Defaults("shop")
	a.Protocol = spec.ProtocolGRPC
	repo, l := oldRepo(t, a)
	a.Module = "example.com/newmod"
	u, err := PlanUpgrade(l, repo[spec.LockPath], a, mapDisk(repo))
	if err != nil {
		t.Fatal(err)
	}
	const h = "internal/server/handlers.go"
	c := outcomes(u)[h]
	old := string(repo[h])
	if c.Outcome != ImportsMoved || string(c.New) != strings.Replace(old, `"example.com/shop/api/shop/v1"`, `"example.com/newmod/api/shop/v1"`, 1) {
		t.Errorf("%s: %s\n%s", h, c.Outcome, c.New)
	}
	repo[h] = []byte("package server\n\nfunc broken( {\n\t_ = \"example.com/shop/api/shop/v1\"\n")
	if _, err := PlanUpgrade(l, repo[spec.LockPath], a, mapDisk(repo)); !spec.IsInputError(err) || !strings.Contains(err.Error(), h) {
		t.Errorf("an owned file that does not parse: %v", err)
	}
}

// An import of the old module the owner added to a file zdgen generates
// survives the merge as written: it moves too.
func TestUpgradeModuleMovesMergedImports(t *testing.T) {
	a := spec.Defaults("shop")
	a.Protocol = spec.ProtocolGRPC
	repo, l := oldRepo(t, a)
	const s = "internal/server/server.go"
	old := string(repo[s])
	i := strings.Index(old, "\n)\n") + len("\n)\n")
	repo[s] = []byte(old[:i] + "\nimport _ \"example.com/shop/internal/load\"\n" + old[i:])
	a.Module = "example.com/newmod"
	u, err := PlanUpgrade(l, repo[spec.LockPath], a, mapDisk(repo))
	if err != nil {
		t.Fatal(err)
	}
	c := outcomes(u)[s]
	if c.Outcome != Merged || !strings.Contains(string(c.New), "import _ \"example.com/newmod/internal/load\"\n") || strings.Contains(string(c.New), "example.com/shop/") {
		t.Errorf("%s: %s\n%s", s, c.Outcome, c.New)
	}
}
