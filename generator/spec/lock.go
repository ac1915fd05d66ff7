package spec

import (
	"errors"
	"fmt"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// LockPath is where a generated repository records how it was generated.
const LockPath = ".zdgen.yaml"

// Lock is the content of .zdgen.yaml: the generator version, every answer
// and a checksum of each generated file. With it, `zdgen upgrade` can rebuild
// exactly what was generated (the merge base), tell which files the owner
// changed since, and re-render with the same answers.
type Lock struct {
	Generator string     `json:"generator"`
	Version   string     `json:"version"`
	Answers   Answers    `json:"answers"`
	Files     []LockFile `json:"files"`
	// Tools whose output zdgen reproduces (gRPC: the protoc plugins its
	// .pb.go files match), by name.
	Tools map[string]string `json:"tools,omitempty"`
	// Overlay is the organisation overlay the repository is generated
	// with, if any.
	Overlay *LockOverlay `json:"overlay,omitempty"`
}

// LockOverlay is what the lock records of an overlay: Overlay without
// what is read again from the overlay itself.
type LockOverlay struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Module  string `json:"module,omitempty"`
	Dir     string `json:"dir,omitempty"`
	Sum     string `json:"sum"`
}

// LockFile records one generated file.
type LockFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Owner  string `json:"owner"`
}

// NewLock describes files generated from a plan by the templates of
// version.
func NewLock(version string, p *Plan, files []File) Lock {
	l := Lock{Generator: "zdgen", Version: version, Answers: p.Answers}
	if p.Proto != nil {
		l.Tools = map[string]string{"protoc-gen-go": p.Proto.GenGoVersion, "protoc-gen-go-grpc": p.Proto.GenGoGRPCVersion}
	}
	if o := p.Overlay; o != nil {
		l.Overlay = &LockOverlay{Name: o.Name, Version: o.Version, Module: o.Module, Dir: o.Dir, Sum: o.Sum}
	}
	for _, f := range files {
		l.Files = append(l.Files, LockFile{Path: f.Path, SHA256: f.Sum(), Owner: f.Owner})
	}
	return l
}

const lockHeader = `# Written by zdgen: how this repository was generated. ` + "`zdgen upgrade`" + `
# reads it to rebuild the generated base and merge your edits into a newer
# version. Change answers with ` + "`zdgen upgrade --set key=value`" + `, not here.
# To keep a file yours (upgrades never touch it), set its owner to user.
`

// File renders the lock as the repository's .zdgen.yaml.
func (l Lock) File() (File, error) {
	b, err := yaml.Marshal(l)
	if err != nil {
		return File{}, fmt.Errorf("lock: %w", err)
	}
	return File{Path: LockPath, Mode: 0o644, Content: append([]byte(lockHeader), b...), Owner: OwnerZdgen}, nil
}

// ParseLock reads a .zdgen.yaml, rejecting unknown keys, keys given twice
// and more than one document. The header is YAML comments, whatever version
// wrote it. The answers are read as --config reads them (ParseAnswersFile):
// each value as written, parsed by its field, so k8s-version: 1.30 is 1.30
// and replicas: "3" is 3.
func ParseLock(b []byte) (Lock, error) {
	fail := func(err error) (Lock, error) { return Lock{}, fmt.Errorf("%s: %w", LockPath, err) }
	m, err := decodeMapping(b)
	if err != nil {
		return fail(errors.New(strings.Replace(err.Error(), "YAML map of answers", "YAML map", 1)))
	}
	if err := checkKeysOnce(m); err != nil {
		return fail(err)
	}
	answers := MappingValue(m, "answers")
	if answers == nil || answers.Kind != yaml3.MappingNode {
		return fail(errors.New("answers: want a map of answers"))
	}
	given, err := answersOf(answers)
	if err != nil {
		return fail(fmt.Errorf("answers: %w", err))
	}
	// The rest: generator, version, files, tools. The answers were read above.
	var rest struct {
		Lock
		Answers any `json:"answers"`
	}
	if err := yaml.UnmarshalStrict(b, &rest); err != nil {
		return fail(err)
	}
	l := rest.Lock
	if err := l.Overlay.check(); err != nil {
		return fail(fmt.Errorf("overlay: %w", err))
	}
	// An answer the lock does not record takes its default: the
	// repository was generated before that answer existed (metrics came
	// with templates 0.5.0), and an upgrade gives it what a new service
	// gets.
	if l.Answers, err = Resolve(given); err != nil {
		return fail(fmt.Errorf("answers: %w", err))
	}
	return l, nil
}

// check refuses an overlay record an upgrade could not fetch or verify.
func (o *LockOverlay) check() error {
	switch {
	case o == nil:
		return nil
	case o.Name == "" || o.Version == "":
		return errors.New("name and version are required")
	case o.Module == "" && o.Dir == "":
		return errors.New("module or dir is required: where the overlay comes from")
	case !strings.HasPrefix(o.Sum, "h1:"):
		return fmt.Errorf("sum %q: want the h1: checksum zdgen recorded", o.Sum)
	}
	return nil
}
