package overlay

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// unrepeatable are the functions of sprig's hermetic map that still do not
// give the same output for the same input: they read the random source
// (keys, certificates, salts, IVs, shuffles), the clock, or the local time
// zone. Rendering must be byte-identical for the same answers and
// versions, or golden examples and three-way upgrades break, so overlay
// templates do without them.
var unrepeatable = []string{
	"randInt", "shuffle",
	"bcrypt", "htpasswd", "encryptAES",
	"genPrivateKey", "genCA", "genCAWithKey",
	"genSelfSignedCert", "genSelfSignedCertWithKey",
	"genSignedCert", "genSignedCertWithKey",
	"ago", "durationRound", "toDate", "mustToDate",
	"dateModify", "date_modify", "mustDateModify", "must_date_modify", "unixEpoch",
}

// funcMap is what an overlay template may call: sprig's hermetic
// functions, less the unrepeatable ones, then zdgen's own (which win a
// name both define: trunc behaves the same in both).
func funcMap() template.FuncMap {
	m := sprig.HermeticTxtFuncMap()
	for _, name := range unrepeatable {
		delete(m, name)
	}
	for k, v := range render.FuncMap() {
		m[k] = v
	}
	return m
}

func renderDelims() (string, string) { return render.Delims() }

// Render renders the overlay's templates for plan p with the data zdgen's
// current templates see, and adds its kustomize files under KustomizeDir:
// everything the overlay puts into the service, sorted by path, owned by
// zdgen. A template that renders to nothing (or only white space) is a
// file this plan does not need, as with zdgen's own templates.
func (o *Overlay) Render(ctx context.Context, p *spec.Plan) ([]spec.File, error) {
	return o.RenderVersion(ctx, render.Version, p)
}

// RenderVersion renders as Render does with the data zdgen's templates of
// version see (.Version, .Requires): the overlay's part of an upgrade's
// merge base.
func (o *Overlay) RenderVersion(ctx context.Context, version string, p *spec.Plan) ([]spec.File, error) {
	data, err := render.Data(p, version)
	if err != nil {
		return nil, err
	}
	files := make([]spec.File, 0, len(o.templates)+len(o.kustomize))
	for _, t := range o.templates {
		f, skip, err := o.renderOne(t, p, data)
		if err != nil {
			return nil, err
		}
		if !skip {
			files = append(files, f)
		}
	}
	for _, k := range o.kustomize {
		k.Content = bytes.Clone(k.Content)
		files = append(files, k)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

func (o *Overlay) renderOne(t tmpl, p *spec.Plan, data any) (spec.File, bool, error) {
	out := strings.ReplaceAll(t.out, "_name_", p.Answers.Name)
	if err := checkOutPath(out); err != nil {
		return spec.File{}, false, o.fail(t.src, "%v", err)
	}
	var buf bytes.Buffer
	if err := t.t.Execute(&buf, data); err != nil {
		return spec.File{}, false, o.fail(t.src, "%v", err)
	}
	content := buf.Bytes()
	if len(bytes.TrimSpace(content)) == 0 {
		return spec.File{}, true, nil
	}
	if path.Ext(out) == ".go" {
		if _, err := parser.ParseFile(token.NewFileSet(), out, content, parser.SkipObjectResolution); err != nil {
			return spec.File{}, false, o.fail(t.src, "renders Go that does not parse: %v", err)
		}
	}
	return spec.File{Path: out, Mode: fileMode(out), Content: content, Owner: spec.OwnerZdgen}, false, nil
}

// fileMode is the mode zdgen gives a generated file: scripts run.
func fileMode(p string) fs.FileMode {
	if strings.HasSuffix(p, ".sh") {
		return 0o755
	}
	return 0o644
}
