package generator

// Generate validates answers, plans and renders: the whole pipeline short
// of writing. Bad answers come back as *InputError.
func Generate(a Answers) (*Plan, []File, error) {
	if err := checkFields(a); err != nil {
		return nil, nil, err
	}
	p, err := NewPlan(a)
	if err != nil {
		return nil, nil, err
	}
	files, err := Render(p)
	if err != nil {
		return nil, nil, err
	}
	return p, files, nil
}
