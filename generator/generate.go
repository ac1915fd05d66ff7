package generator

import (
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// Generate validates answers, plans and renders: the whole pipeline short
// of writing. Bad answers come back as *InputError.
func Generate(a spec.Answers) (*spec.Plan, []spec.File, error) {
	if err := spec.CheckFields(a); err != nil {
		return nil, nil, err
	}
	p, err := spec.NewPlan(a)
	if err != nil {
		return nil, nil, err
	}
	files, err := render.Render(p)
	if err != nil {
		return nil, nil, err
	}
	return p, files, nil
}
