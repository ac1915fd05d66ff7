package workload

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/zdgen/zdgen/generator/spec"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// kustomizationPath is the kustomization the checks build.
const kustomizationPath = k8sDir + "/kustomization.yaml"

// listedComponents are the components deploy/k8s/kustomization.yaml
// lists, as it lists them (overlay/labels); none when it cannot be read,
// which the build has already reported.
func listedComponents(fsys fs.FS) []string {
	b, err := fs.ReadFile(fsys, kustomizationPath)
	if err != nil {
		return nil
	}
	var kust struct {
		Components []string `json:"components"`
	}
	if yaml.Unmarshal(b, &kust) != nil {
		return nil
	}
	return kust.Components
}

// componentsError is a problem the kustomization's components bring: the
// manifests pass the same checks without them.
type componentsError struct {
	at       []string // as the kustomization lists them
	together bool     // none fails alone: only all of them together
	err      error
}

func (e *componentsError) Error() string {
	dirs := make([]string, len(e.at))
	for i, c := range e.at {
		dirs[i] = path.Join(k8sDir, c)
	}
	switch {
	case e.together:
		return fmt.Sprintf("%v\n(the components %s bring it together: the manifests pass without them, and with each alone)", e.err, andList(dirs))
	case len(dirs) == 1:
		return fmt.Sprintf("%v\n(the component %s brings it: the manifests pass without the components, and fail with it alone)", e.err, dirs[0])
	}
	return fmt.Sprintf("%v\n(the components %s bring it: the manifests pass without the components, and fail with each of these alone)", e.err, andList(dirs))
}

func (e *componentsError) Unwrap() error { return e.err }

// ComponentsAtFault lists the components (as deploy/k8s/kustomization.yaml
// lists them, overlay/NAME) that bring the problem err reports, when
// CheckTree or LoadFor found that the manifests pass without them; nil
// otherwise. zdgen names them as the overlay's own files.
func ComponentsAtFault(err error) []string {
	var ce *componentsError
	if errors.As(err, &ce) {
		return append([]string(nil), ce.at...)
	}
	return nil
}

// blame tells, of an input error err that check found in the repository
// fsys, which of the kustomization's components bring it: when the
// manifests pass check without the components, those that fail it alone
// (or all of them, when none does alone). Otherwise, or without
// components, err is returned as it is. Each try is a kustomize build of
// a handful of files, and only a refusal pays for them.
func blame(fsys fs.FS, err error, check func(fs.FS) error) error {
	comps := listedComponents(fsys)
	if !spec.IsInputError(err) || len(comps) == 0 {
		return err
	}
	without, werr := withComponents(fsys, nil)
	if werr != nil || check(without) != nil {
		return err // the manifests fail without the components too
	}
	var at []string
	for _, c := range comps {
		alone, aerr := withComponents(fsys, []string{c})
		if aerr == nil && check(alone) != nil {
			at = append(at, c)
		}
	}
	ce := &componentsError{at: at, err: err}
	if len(at) == 0 {
		ce.at, ce.together = comps, true
	}
	return &InputError{ce}
}

// withComponents is fsys with its kustomization listing only comps (none
// when nil): the key's value replaced, or the key taken out.
func withComponents(fsys fs.FS, comps []string) (fs.FS, error) {
	b, err := fs.ReadFile(fsys, kustomizationPath)
	if err != nil {
		return nil, err
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yamlv3.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yamlv3.MappingNode {
		return nil, fmt.Errorf("%s is not a mapping", kustomizationPath)
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "components" {
			continue
		}
		if comps == nil {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			break
		}
		list := &yamlv3.Node{Kind: yamlv3.SequenceNode, Tag: "!!seq"}
		for _, c := range comps {
			list.Content = append(list.Content, &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: c})
		}
		m.Content[i+1] = list
		break
	}
	out, err := yamlv3.Marshal(&doc)
	if err != nil {
		return nil, err
	}
	return replaced{FS: fsys, name: kustomizationPath, data: out}, nil
}

// replaced is a file system with one file's content replaced.
type replaced struct {
	fs.FS
	name string
	data []byte
}

func (r replaced) Open(name string) (fs.File, error) {
	if name != r.name {
		return r.FS.Open(name)
	}
	fi, err := fs.Stat(r.FS, name)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(r.data), info: sized{fi, int64(len(r.data))}}, nil
}

type memFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

// sized is a file's information with another size.
type sized struct {
	fs.FileInfo
	size int64
}

func (s sized) Size() int64 { return s.size }

// andList joins "a", "b" and "c" as "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
