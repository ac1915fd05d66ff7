package generator

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// ParseAnswersFile reads a YAML map of answer keys to values, as written by
// hand for --config. It also accepts a generated repository's .zdgen.yaml
// (answers under "answers:"). Values stay strings until each field's Set
// parses them.
func ParseAnswersFile(b []byte) (map[string]string, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, &InputError{Field: "config", Rule: "not a YAML map of answers: " + err.Error()}
	}
	if inner, ok := raw["answers"].(map[string]any); ok {
		raw = inner
	}
	out := map[string]string{}
	for k, v := range raw {
		if _, ok := FieldByKey(k); !ok {
			return nil, &InputError{Field: k, Rule: "unknown answer; known: " + strings.Join(FieldKeys(), ", ")}
		}
		switch v.(type) {
		case map[string]any, []any, nil:
			return nil, &InputError{Field: k, Rule: "want a single value"}
		}
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}

// FieldKeys lists the answer keys in prompt order.
func FieldKeys() []string {
	keys := make([]string, len(Fields))
	for i, f := range Fields {
		keys[i] = f.Key
	}
	return keys
}

// Resolve builds complete answers from the given ones, taking each
// missing answer's default in field order (a default may depend on answers
// before it). It does not check the rules between fields: Generate does.
func Resolve(given map[string]string) (Answers, error) {
	var a Answers
	for _, f := range Fields {
		v, ok := given[f.Key]
		if !ok {
			if f.Key == "name" {
				return a, &InputError{Field: "name", Rule: "is required"}
			}
			v = f.Default(&a)
		}
		if err := f.Set(&a, v); err != nil {
			return a, err
		}
	}
	return a, nil
}

// CheckSoFar checks the rules that tie fields together as far as a person
// has answered: fields up to and including key as in a, the rest at their
// defaults. Only a broken rule that names key is returned, so a prompt can
// ask that answer again at once instead of failing after the last question.
func CheckSoFar(a Answers, key string) error {
	done := false
	for _, f := range Fields {
		if done {
			if err := f.Set(&a, f.Default(&a)); err != nil {
				return nil // a later default does not fit: that field's prompt will say so
			}
		}
		done = done || f.Key == key
	}
	if a.Port == a.HealthPort && key == "health-port" {
		return errPortsEqual(a.HealthPort)
	}
	var ie *InputError
	if _, err := NewPlan(a); errors.As(err, &ie) && ie.Field == key {
		return err
	}
	return nil
}
