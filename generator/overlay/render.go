package overlay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"
	"time"

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
//
// Rendering runs under bounds (see maxSteps and the others, and
// renderTimeout): a template that reaches one is a broken overlay, a
// *spec.InputError naming the overlay, the template and the bound. When
// ctx is done, Render returns ctx.Err() at once.
func (o *Overlay) Render(ctx context.Context, p *spec.Plan) ([]spec.File, error) {
	return o.RenderVersion(ctx, render.Version, p)
}

// RenderVersion renders as Render does with the data zdgen's templates of
// version see (.Version, .Requires): the overlay's part of an upgrade's
// merge base.
func (o *Overlay) RenderVersion(ctx context.Context, version string, p *spec.Plan) ([]spec.File, error) {
	rs, err := o.render(ctx, version, p)
	if err != nil {
		return nil, err
	}
	files := make([]spec.File, len(rs))
	for i, r := range rs {
		files[i] = r.File
	}
	return files, nil
}

// rendered is a file the overlay puts into the service, and the file of
// the overlay it comes from (templates/... or kustomize/...).
type rendered struct {
	spec.File
	src string
}

// render renders the overlay in a goroutine of its own and waits for it,
// for ctx and for renderTimeout. Every loop iteration, function call,
// template call and write in the templates checks ctx and the time too
// (see instrument), so the goroutine stops on its own soon after; only a
// single function call that is slow in itself (a key derivation, a
// regular expression over a megabyte, bounded by the values it may be
// given) goes on until it returns. A goroutine still running then lives
// until the process exits, which for zdgen's commands is right after.
func (o *Overlay) render(ctx context.Context, version string, p *spec.Plan) ([]rendered, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := render.Data(p, version)
	if err != nil {
		return nil, err
	}
	e := newExecution(ctx)
	type result struct {
		files []rendered
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if v := recover(); v != nil {
				r = result{err: fmt.Errorf("overlay %s: rendering %s: %v", o.ID(), e.current(), v)}
			}
			done <- r
		}()
		r.files, r.err = o.renderAll(e, p, data)
	}()
	timer := time.NewTimer(e.timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.files, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, o.fail(e.current(), "%s", e.timeUp().msg)
	}
}

// current is the template rendering now, for a message.
func (e *execution) current() string {
	if p := e.src.Load(); p != nil {
		return *p
	}
	return ""
}

// renderAll renders every template with e, then adds the kustomize
// files.
func (o *Overlay) renderAll(e *execution, p *spec.Plan, data any) ([]rendered, error) {
	files := make([]rendered, 0, len(o.templates)+len(o.kustomize))
	for _, t := range o.templates {
		e.src.Store(&t.src)
		f, skip, err := o.renderOne(e, t, p, data)
		if err != nil {
			return nil, err
		}
		if !skip {
			files = append(files, rendered{f, t.src})
		}
	}
	for _, k := range o.kustomize {
		src := "kustomize/" + strings.TrimPrefix(k.Path, KustomizeDir+"/")
		k.Content = bytes.Clone(k.Content)
		files = append(files, rendered{k, src})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

func (o *Overlay) renderOne(e *execution, t tmpl, p *spec.Plan, data any) (spec.File, bool, error) {
	out := strings.ReplaceAll(t.out, "_name_", p.Answers.Name)
	if err := checkOutPath(out); err != nil {
		return spec.File{}, false, o.fail(t.src, "%v", err)
	}
	// A copy of the template that calls the functions bounded for this
	// render; the parse trees are shared, not copied.
	c, err := t.t.Clone()
	if err != nil {
		return spec.File{}, false, o.fail(t.src, "%v", err)
	}
	w := &boundedWriter{e: e}
	err = c.Funcs(e.funcs).Execute(w, data)
	if err == nil {
		err = e.err // a bound reached inside a function that hid the error
	}
	if err != nil {
		if ctxErr := e.ctx.Err(); ctxErr != nil {
			return spec.File{}, false, ctxErr
		}
		var b *boundError
		if errors.As(err, &b) {
			return spec.File{}, false, o.fail(t.src, "%s", b.msg)
		}
		return spec.File{}, false, o.fail(t.src, "%s", spec.Clip(err.Error()))
	}
	content := w.buf
	if len(bytes.TrimSpace(content)) == 0 {
		return spec.File{}, true, nil
	}
	if path.Ext(out) == ".go" {
		if _, err := parser.ParseFile(token.NewFileSet(), out, content, parser.SkipObjectResolution); err != nil {
			return spec.File{}, false, o.fail(t.src, "renders Go that does not parse: %s", spec.Clip(err.Error()))
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
