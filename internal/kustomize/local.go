package kustomize

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizationNames are the file names kustomize reads as a
// kustomization.
var kustomizationNames = map[string]bool{"kustomization.yaml": true, "kustomization.yml": true, "Kustomization": true}

// references are the paths a kustomization loads, as far as they can
// name something remote: kustomize fetches an http(s) URL given for any
// of them, and clones a git repository named as a resource, component or
// base.
type references struct {
	Resources  []string `json:"resources"`
	Components []string `json:"components"`
	Bases      []string `json:"bases"`

	Crds                  []string    `json:"crds"`
	Configurations        []string    `json:"configurations"`
	Generators            []string    `json:"generators"`
	Transformers          []string    `json:"transformers"`
	Validators            []string    `json:"validators"`
	PatchesStrategicMerge []string    `json:"patchesStrategicMerge"`
	Patches               []pathField `json:"patches"`
	PatchesJSON6902       []pathField `json:"patchesJson6902"`
	Replacements          []pathField `json:"replacements"`
	OpenAPI               pathField   `json:"openapi"`
	ConfigMapGenerator    []generator `json:"configMapGenerator"`
	SecretGenerator       []generator `json:"secretGenerator"`
}

type pathField struct {
	Path string `json:"path"`
}

type generator struct {
	Files []string `json:"files"`
	Envs  []string `json:"envs"`
	Env   string   `json:"env"`
}

// checkLocal refuses a kustomization (file p of the copy in mem of
// root, the directory built) that
// would make the build reach beyond the copied files: a resource,
// component or base that is not a file or directory of the copy (a URL
// or a git repository kustomize would fetch, or a directory outside the
// root), or a file given as an http(s) URL. What does not parse is left
// to kustomize to report.
func checkLocal(mem filesys.FileSystem, root, p string) error {
	b, err := mem.ReadFile(memRoot + p)
	if err != nil {
		return err
	}
	var r references
	if yaml.Unmarshal(b, &r) != nil {
		return nil
	}
	dir := path.Dir(p)
	for _, list := range []struct {
		field   string
		entries []string
	}{{"resources", r.Resources}, {"components", r.Components}, {"bases", r.Bases}} {
		for _, e := range list.entries {
			switch local := path.Join(dir, e); {
			case mem.Exists(memRoot + local):
			case remote(e):
				return fmt.Errorf("%s: %s lists %s, which is remote: the build reads only the files below %s and fetches nothing", p, list.field, e, root)
			default:
				return fmt.Errorf("%s: %s lists %s: %s is not a file or directory below %s", p, list.field, e, local, root)
			}
		}
	}
	files := append(append(append(append(append(append([]string{r.OpenAPI.Path},
		r.Crds...), r.Configurations...), r.Generators...), r.Transformers...), r.Validators...), r.PatchesStrategicMerge...)
	for _, l := range [][]pathField{r.Patches, r.PatchesJSON6902, r.Replacements} {
		for _, f := range l {
			files = append(files, f.Path)
		}
	}
	for _, g := range append(r.ConfigMapGenerator, r.SecretGenerator...) {
		for _, f := range g.Files {
			_, f, _ = strings.Cut(f, "=") // key=path
			files = append(files, f)
		}
		files = append(append(files, g.Envs...), g.Env)
	}
	for _, f := range files {
		if strings.HasPrefix(f, "https://") || strings.HasPrefix(f, "http://") {
			return fmt.Errorf("%s: %s is a URL: the build reads only the files below %s and fetches nothing", p, f, root)
		}
	}
	return nil
}

// remote reports whether a resource, component or base names something
// kustomize would fetch: a URL, or a git repository (git@host:path,
// host.example/org/repo//dir?ref=v1).
func remote(e string) bool {
	first, _, _ := strings.Cut(e, "/")
	return strings.Contains(e, "://") || strings.HasPrefix(e, "git@") || strings.Contains(e, "?") ||
		(strings.Contains(first, ".") && first != "." && first != ".." && strings.Contains(e, "/"))
}
