// Package render turns a plan into the files of a service, in memory: the
// embedded templates (package templates) of this or a frozen release,
// executed with zdgen's own functions, each output file with its owner.
// It touches no disk.
package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path"
	"sort"
	"strings"
	"text/template"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/templates"
	"golang.org/x/mod/modfile"
)

// Version is the version of the generator's templates. It is recorded in
// every generated repository's .zdgen.yaml; a release that changes what is
// generated raises it (see package templates), so `zdgen upgrade` knows
// which base to rebuild.
const Version = templates.Version

// userOwned lists the templates whose output belongs to the user once
// written: the places a service owner is expected to change.
var userOwned = map[string]bool{
	"internal/server/handlers.go": true,
}

// Render turns a plan into the files zdgen's templates make of it, sorted
// by path. It touches no disk and writes no lock: the service is composed,
// an overlay layered on and the lock recorded, by package generator.
func Render(p *spec.Plan) ([]spec.File, error) {
	return renderFS(templates.FS, p, Version)
}

// RenderVersion renders a plan with the templates of an earlier release, as
// that release rendered it: the merge base of an upgrade.
func RenderVersion(version string, p *spec.Plan) ([]spec.File, error) {
	tfs, err := templates.ForVersion(version)
	if err != nil {
		return nil, err
	}
	return renderFS(tfs, p, version)
}

func renderFS(tfs fs.FS, p *spec.Plan, version string) ([]spec.File, error) {
	sources, data, err := prepare(tfs, p, version)
	if err != nil {
		return nil, err
	}
	var files []spec.File
	for _, src := range sources {
		f, skip, err := renderOne(tfs, src, p, data)
		if err != nil {
			return nil, err
		}
		if !skip {
			files = append(files, f)
		}
	}
	// Sorted by path, so the lock does not depend on where a template lives.
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// Data is what a template sees when it renders plan p with the templates
// of version: the plan, the version and go.mod's direct requirements.
// Organisation overlays render with it too, so that their templates see
// exactly what zdgen's own see.
func Data(p *spec.Plan, version string) (any, error) {
	tfs, err := templates.ForVersion(version)
	if err != nil {
		return nil, err
	}
	_, data, err := prepare(tfs, p, version)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// prepare lists the templates that apply to p and the data they render
// with, go.mod's direct requirements included.
func prepare(tfs fs.FS, p *spec.Plan, version string) ([]string, templateData, error) {
	sources, err := collect(tfs, p.Answers.Protocol)
	if err != nil {
		return nil, templateData{}, err
	}
	data := templateData{Plan: p, Version: version}
	for _, d := range p.Derived {
		if d.Since == "" || templates.Compare(d.Since, version) <= 0 {
			data.Derived = append(data.Derived, d)
		}
	}
	if data.Requires, err = requires(tfs, sources, p, data); err != nil {
		return nil, templateData{}, err
	}
	return sources, data, nil
}

// FuncMap returns a copy of zdgen's own template functions, for templates
// rendered beside the built-in ones (an overlay's).
func FuncMap() template.FuncMap { return maps.Clone(funcs) }

// Delims returns the action delimiters every template is written with.
func Delims() (left, right string) { return leftDelim, rightDelim }

// templateData is what every template sees: the plan, the generator
// version for headers, and what the README lists of go.mod.
type templateData struct {
	*spec.Plan
	Version string
	// Requires are the module paths the generated go.mod requires
	// directly, read from the go.mod this plan renders, so that the README
	// cannot list other dependencies than the module has.
	Requires []string
	// Derived is the plan's table as the templates of Version wrote it,
	// without the rows a later release added (it hides Plan.Derived).
	Derived []spec.Derived
}

// requires renders go.mod and returns its direct requirements.
func requires(tfs fs.FS, sources []string, p *spec.Plan, data templateData) ([]string, error) {
	for _, src := range sources {
		if path.Base(src) != "go.mod.tmpl" {
			continue
		}
		f, _, err := renderOne(tfs, src, p, data)
		if err != nil {
			return nil, err
		}
		mf, err := modfile.ParseLax(f.Path, f.Content, nil)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", src, err)
		}
		var paths []string
		for _, r := range mf.Require {
			if !r.Indirect {
				paths = append(paths, r.Mod.Path)
			}
		}
		return paths, nil
	}
	return nil, nil
}

// collect lists the template sources for a protocol: common/ overlaid by
// the protocol's own folder, keyed by output path.
func collect(tfs fs.FS, protocol string) ([]string, error) {
	byOut := map[string]string{}
	for _, root := range []string{"common", protocol} {
		err := fs.WalkDir(tfs, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
				return err
			}
			byOut[strings.TrimPrefix(p, root+"/")] = p
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("templates for %s: %w", protocol, err)
		}
	}
	srcs := make([]string, 0, len(byOut))
	for _, s := range byOut {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	return srcs, nil
}

func renderOne(tfs fs.FS, src string, p *spec.Plan, data templateData) (spec.File, bool, error) {
	raw, err := fs.ReadFile(tfs, src)
	if err != nil {
		return spec.File{}, false, err
	}
	rel := src[strings.Index(src, "/")+1:]
	rel = strings.TrimSuffix(rel, ".tmpl")
	out := strings.ReplaceAll(rel, "_name_", p.Answers.Name)
	t, err := template.New(src).Delims(leftDelim, rightDelim).Funcs(funcs).Option("missingkey=error").Parse(string(raw))
	if err == nil {
		err = protocolParts(t, tfs, src, p.Answers.Protocol)
	}
	if err != nil {
		return spec.File{}, false, fmt.Errorf("template %s: %w", src, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return spec.File{}, false, fmt.Errorf("template %s: %w", src, err)
	}
	content := buf.Bytes()
	// A template that renders to nothing is a file this plan does not need
	// (the PodDisruptionBudget of a single replica).
	if len(bytes.TrimSpace(content)) == 0 {
		return spec.File{}, true, nil
	}
	// Templates are written gofmt-clean for every answer set (a test checks
	// it), so parsing is enough here: formatting would cost most of the
	// render time. The parse also tells which imports a template that lists
	// every one it may need (pruneMark) leaves unused.
	if path.Ext(out) == ".go" {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, out, content, parser.SkipObjectResolution)
		if err != nil {
			return spec.File{}, false, fmt.Errorf("template %s renders Go that does not parse: %w", src, err)
		}
		if bytes.Contains(raw, []byte(pruneMark)) {
			content = dropUnusedImports(fset, f, content)
		}
	}
	mode := fs.FileMode(0o644)
	if strings.HasSuffix(out, ".sh") {
		mode = 0o755
	}
	owner := spec.OwnerZdgen
	if userOwned[rel] {
		owner = spec.OwnerUser
	}
	return spec.File{Path: out, Mode: mode, Content: content, Owner: owner}, false, nil
}

// protocolParts adds to t, the template of src, the templates the
// protocol's folder defines for it: PROTOCOL/PATH.parts for common/PATH.tmpl,
// when there is one. A common template calls them ([[template "name" .]])
// where the protocols differ by more than a word, so that what they share
// is written once and each protocol's part reads whole.
func protocolParts(t *template.Template, tfs fs.FS, src, protocol string) error {
	rel, ok := strings.CutPrefix(src, "common/")
	if !ok {
		return nil
	}
	parts := protocol + "/" + strings.TrimSuffix(rel, ".tmpl") + ".parts"
	b, err := fs.ReadFile(tfs, parts)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		_, err = t.New(parts).Parse(string(b))
	}
	return err
}

// Template actions are written [[ .Like.This ]]: "{{" is common in Go
// (nested composite literals) and would end a template's text early.
const leftDelim, rightDelim = "[[", "]]"

// funcs are the functions every built-in template sees: zdgen's own, and
// nothing else. Free text (the description) reaches files only through the
// escaper of the file's language: yamlString, goComment, markdown,
// dockerString.
//
// sprig's hermetic function map is not here on purpose: no template calls
// it but trunc (kept below, with sprig's behaviour, so every release renders
// as it did), and loading it links some ten modules and costs every zdgen
// start its package init. Organisation overlay templates get it (package
// overlay adds it to these), so only a binary that reads overlays pays.
var funcs = template.FuncMap{
	"yamlString":   yamlString,
	"goComment":    goComment,
	"docSentence":  docSentence,
	"markdown":     markdown,
	"dockerString": dockerString,
	// yamlList prints a string list as a YAML flow sequence of quoted
	// strings: ["/app", "sleep", "5s"].
	"yamlList": func(items []string) string {
		q := make([]string, len(items))
		for i, s := range items {
			q[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	},
	"trunc": trunc,
}

// trunc keeps the first n bytes of s (n < 0: the last -n), as sprig's
// trunc did when the templates first called it: the README's kubectl
// commands cut a service name so that a pod name made from it stays a
// valid DNS label. Names are ASCII, so bytes are characters.
func trunc(n int, s string) string {
	switch {
	case n < 0 && len(s)+n > 0:
		return s[len(s)+n:]
	case n >= 0 && len(s) > n:
		return s[:n]
	}
	return s
}

// yamlString quotes s as a YAML double-quoted scalar (a JSON string is
// one): colons, '#', quotes and leading dashes stay text.
func yamlString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return `""`
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// goComment makes s safe inside a // comment: one line.
func goComment(s string) string { return strings.Join(strings.Fields(s), " ") }

// docSentence is goComment for a paragraph of its own in a doc comment:
// ended as a sentence, because gofmt would turn a capitalised line with
// no end punctuation ("Takes payments for the shop") into a heading.
func docSentence(s string) string {
	s = goComment(s)
	if s != "" && !strings.ContainsAny(s[len(s)-1:], ".!?") {
		s += "."
	}
	return s
}

// markdown escapes the characters Markdown would read as markup or HTML.
func markdown(s string) string {
	var b strings.Builder
	for _, r := range goComment(s) {
		if strings.ContainsRune("\\`*_[]<>#|~!{}", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// dockerString quotes s for a Dockerfile instruction: inside double
// quotes, backslash and quote are escaped and '$' is kept from expanding.
func dockerString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(goComment(s)) + `"`
}
