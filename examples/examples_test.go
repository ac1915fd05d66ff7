// Package examples keeps examples/ byte-identical to what the generator
// writes today. Each NAME.yaml is an answers file; NAME/ is the tree zdgen
// generates from it. `go test ./examples -update` regenerates them on
// purpose, after a template change.
package examples

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator"
)

var update = flag.Bool("update", false, "rewrite examples/ from the current generator")

func examples(t *testing.T) map[string][]generator.File {
	t.Helper()
	answerFiles, err := filepath.Glob("*.yaml")
	if err != nil || len(answerFiles) == 0 {
		t.Fatalf("no answers files in examples/: %v", err)
	}
	out := map[string][]generator.File{}
	for _, af := range answerFiles {
		b, err := os.ReadFile(af)
		if err != nil {
			t.Fatal(err)
		}
		given, err := generator.ParseAnswersFile(b)
		if err != nil {
			t.Fatalf("%s: %v", af, err)
		}
		a, err := generator.Resolve(given)
		if err != nil {
			t.Fatalf("%s: %v", af, err)
		}
		_, files, err := generator.Generate(a)
		if err != nil {
			t.Fatalf("%s: %v", af, err)
		}
		out[strings.TrimSuffix(af, ".yaml")] = files
	}
	return out
}

func TestExamplesAreCurrent(t *testing.T) {
	for dir, files := range examples(t) {
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := generator.Write(context.Background(), dir, files, false); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want := map[string][]byte{}
		for _, f := range files {
			want[f.Path] = f.Content
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(rel)
			got, _ := os.ReadFile(p)
			w, ok := want[rel]
			switch {
			case !ok:
				t.Errorf("%s/%s is not generated any more", dir, rel)
			case !bytes.Equal(got, w):
				t.Errorf("%s/%s differs from what the generator writes", dir, rel)
			}
			delete(want, rel)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for rel := range want {
			t.Errorf("%s/%s is generated but missing", dir, rel)
		}
	}
	if t.Failed() {
		t.Log("if the change is intended: go test ./examples -update")
	}
}

// Each example is a module that builds and passes its own tests.
func TestExamplesPassTheirOwnTests(t *testing.T) {
	if testing.Short() || *update {
		t.Skip("runs each example's test suite")
	}
	for dir := range examples(t) {
		for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
			cmd := exec.Command("go", args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: go %s: %v\n%s", dir, strings.Join(args, " "), err, out)
			}
		}
	}
}
