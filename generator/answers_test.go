package generator

import (
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

// set applies key=value pairs to the defaults for "svc" through the field
// table, as flags and config files do.
func set(t *testing.T, kv ...string) (spec.Answers, error) {
	t.Helper()
	a := spec.Defaults("svc")
	for _, pair := range kv {
		k, v, _ := strings.Cut(pair, "=")
		f, ok := spec.FieldByKey(k)
		if !ok {
			t.Fatalf("no field %q", k)
		}
		if err := f.Set(&a, v); err != nil {
			return a, err
		}
	}
	return a, spec.Check(a)
}

func plan(t *testing.T, kv ...string) *spec.Plan {
	t.Helper()
	a, err := set(t, kv...)
	if err != nil {
		t.Fatalf("%v: %v", kv, err)
	}
	p, err := spec.NewPlan(a)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
