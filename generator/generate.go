package generator

import (
	"context"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// Generate validates answers, plans and renders: the whole pipeline short
// of writing. Bad answers come back as *InputError.
func Generate(a spec.Answers) (*spec.Plan, []spec.File, error) {
	return GenerateWith(context.Background(), a, nil)
}

// GenerateWith is Generate with an organisation overlay on top (none
// when ov is nil): its rules are checked against the answers, and its
// files and components added to the render. Whether it supports this
// zdgen's templates is checked where it is opened.
func GenerateWith(ctx context.Context, a spec.Answers, ov *overlay.Applied) (*spec.Plan, []spec.File, error) {
	if err := spec.CheckFields(a); err != nil {
		return nil, nil, err
	}
	if ov != nil {
		if err := ov.Check(a); err != nil {
			return nil, nil, err
		}
	}
	p, err := spec.NewPlan(a)
	if err != nil {
		return nil, nil, err
	}
	files, err := overlay.RenderService(ctx, render.Version, p, ov)
	if err != nil {
		return nil, nil, err
	}
	return p, files, nil
}
