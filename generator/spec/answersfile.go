package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseAnswersFile reads a YAML map of answer keys to values, as written by
// hand for --config. It also accepts a generated repository's .zdgen.yaml
// (answers under "answers:"). Values are kept as written — k8s-version: 1.30
// stays "1.30", not the number 1.3 — until each field's Set parses them.
// A key given twice, a second YAML document and a merge key (<<) are
// refused; an alias of a single value is read as that value.
func ParseAnswersFile(b []byte) (map[string]string, error) {
	m, err := decodeMapping(b)
	if err != nil {
		return nil, &InputError{Field: "config", Rule: err.Error()}
	}
	if answers := MappingValue(m, "answers"); answers != nil && answers.Kind == yaml.MappingNode {
		if err := checkKeysOnce(m); err != nil {
			return nil, err
		}
		m = answers
	}
	return answersOf(m)
}

// decodeMapping decodes exactly one YAML document holding a mapping.
func decodeMapping(b []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("not a YAML map of answers: empty")
		}
		return nil, errors.New("not a YAML map of answers: " + err.Error())
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, errors.New("not a YAML map of answers: " + err.Error())
		}
		return nil, fmt.Errorf("holds more than one YAML document (the second starts at line %d); give every answer in one", second.Line)
	}
	m := &doc
	if m.Kind == yaml.DocumentNode && len(m.Content) == 1 {
		m = m.Content[0]
	}
	if m.Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML map of answers")
	}
	return m, nil
}

// checkKeysOnce refuses a mapping that gives a key twice (YAML says keys
// are unique; a parser that lets the last one win hides a mistake) or uses
// a merge key.
func checkKeysOnce(m *yaml.Node) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := ResolveAlias(m.Content[i])
		if k.Tag == "!!merge" || k.Value == "<<" {
			return &InputError{Field: "<<", Rule: fmt.Sprintf("line %d: YAML merge keys (<<) are not supported; write each answer out", k.Line)}
		}
		if line, ok := seen[k.Value]; ok {
			return &InputError{Field: k.Value, Rule: fmt.Sprintf("given twice (lines %d and %d); give each answer once", line, k.Line)}
		}
		seen[k.Value] = k.Line
	}
	return nil
}

// answersOf reads a mapping of answer keys to single values: --config's
// and .zdgen.yaml's answers alike.
func answersOf(m *yaml.Node) (map[string]string, error) {
	if err := checkKeysOnce(m); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := ResolveAlias(m.Content[i]).Value, ResolveAlias(m.Content[i+1])
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

// ResolveAlias follows an alias (*name) to the node its anchor marks.
// The strict readers of YAML (answers files, .zdgen.yaml, an overlay's
// overlay.yaml) work on nodes, to see keys given twice and merge keys.
func ResolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// MappingValue finds key's value in a YAML mapping node, nil if absent.
func MappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if ResolveAlias(m.Content[i]).Value == key {
			return ResolveAlias(m.Content[i+1])
		}
	}
	return nil
}

// setAnswers parses each given answer into a with its field's Set, in
// field order. Answers not given are left as they are.
func setAnswers(a *Answers, given map[string]string) error {
	for _, f := range Fields {
		if v, ok := given[f.Key]; ok {
			if err := f.Set(a, v); err != nil {
				return err
			}
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
			if !ok {
				err = ExplainDefault(f, &a, err)
			}
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
