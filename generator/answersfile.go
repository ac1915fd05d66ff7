package generator

import (
	"errors"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseAnswersFile reads a YAML map of answer keys to values, as written by
// hand for --config. It also accepts a generated repository's .zdgen.yaml
// (answers under "answers:"). Values are kept as written — k8s-version: 1.30
// stays "1.30", not the number 1.3 — until each field's Set parses them.
func ParseAnswersFile(b []byte) (map[string]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, &InputError{Field: "config", Rule: "not a YAML map of answers: " + err.Error()}
	}
	m := &doc
	if m.Kind == yaml.DocumentNode && len(m.Content) == 1 {
		m = m.Content[0]
	}
	if m.Kind != yaml.MappingNode {
		return nil, &InputError{Field: "config", Rule: "not a YAML map of answers"}
	}
	if answers := mappingValue(m, "answers"); answers != nil && answers.Kind == yaml.MappingNode {
		m = answers
	}
	out := map[string]string{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, m.Content[i+1]
		if _, ok := FieldByKey(k); !ok {
			return nil, &InputError{Field: k, Rule: "unknown answer; known: " + strings.Join(FieldKeys(), ", ")}
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return nil, &InputError{Field: k, Rule: "want a single value"}
		}
		out[k] = v.Value
	}
	return out, nil
}

// mappingValue finds key's value in a YAML mapping node.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
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
