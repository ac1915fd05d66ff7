package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/zdgen/zdgen/generator/spec"
	"go.yaml.in/yaml/v3"
)

// componentKind is what a component's kustomization.yaml declares.
const (
	componentAPIVersion = "kustomize.config.k8s.io/v1alpha1"
	componentKind       = "Component"
)

// Components lists the overlay's kustomize components as the generated
// kustomization (deploy/k8s/kustomization.yaml) lists them: directories
// relative to deploy/k8s, such as overlay/labels, sorted.
func (o *Overlay) Components() []string { return append([]string(nil), o.components...) }

// loadKustomize checks and keeps the files under kustomize/: each
// directory directly below it is a kustomize component (a
// kustomization.yaml of kind Component), and every YAML file must parse.
// A patch goes into a component whose kustomization lists it with a
// target (kind: Deployment): a patch listed alone would have to name its
// object, and the objects are named after each service.
func (o *Overlay) loadKustomize() error {
	rel := path.Base(KustomizeDir) // deploy/k8s/overlay is overlay/... from deploy/k8s
	for _, p := range o.under("kustomize") {
		src := "kustomize/" + p
		if err := checkGitPath(p); err != nil {
			return o.fail(src, "%v", err)
		}
		dir, _, nested := strings.Cut(p, "/")
		if !nested {
			return o.fail(src, "files under kustomize/ belong to a component: a directory with a kustomization.yaml of kind %s (a patch goes there, listed with a target)", componentKind)
		}
		b := o.files[src]
		if isYAML(p) {
			if err := checkYAML(b); err != nil {
				return o.fail(src, "%v", err)
			}
		}
		if p == dir+"/kustomization.yaml" {
			if err := checkComponent(b); err != nil {
				return o.fail(src, "%v", err)
			}
			o.components = append(o.components, rel+"/"+dir)
		}
		o.kustomize = append(o.kustomize, spec.File{Path: KustomizeDir + "/" + p, Mode: 0o644, Content: b, Owner: spec.OwnerZdgen})
	}
	for _, p := range o.under("kustomize") {
		dir, _, _ := strings.Cut(p, "/")
		if _, ok := o.files["kustomize/"+dir+"/kustomization.yaml"]; !ok {
			return o.fail("kustomize/"+dir, "a directory under kustomize/ is a kustomize component: it needs a kustomization.yaml of kind %s", componentKind)
		}
	}
	return nil
}

func isYAML(p string) bool { return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") }

// checkYAML parses every document of b, each a map (or empty).
func checkYAML(b []byte) error {
	_, err := documents(b)
	return err
}

// documents returns b's documents, each a mapping.
func documents(b []byte) ([]map[string]any, error) {
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %v", err)
		}
		if err := checkMappings(&n); err != nil {
			return nil, err
		}
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			return nil, fmt.Errorf("line %d: want a map: %v", n.Line, err)
		}
		if m != nil {
			docs = append(docs, m)
		}
	}
}

// checkComponent wants a kustomization.yaml of kind Component.
func checkComponent(b []byte) error {
	docs, err := documents(b)
	if err != nil {
		return err
	}
	if len(docs) != 1 || docs[0]["apiVersion"] != componentAPIVersion || docs[0]["kind"] != componentKind {
		return fmt.Errorf("want one document of apiVersion %s, kind %s: the generated kustomization lists it under components", componentAPIVersion, componentKind)
	}
	return nil
}
