package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/zdgen/zdgen/generator/spec"
	"go.yaml.in/yaml/v3"
	modsemver "golang.org/x/mod/semver"
	"k8s.io/apimachinery/pkg/util/validation"
)

// description is overlay.yaml as written.
type description struct {
	Name     string              `yaml:"name"`
	Version  string              `yaml:"version"`
	Zdgen    string              `yaml:"zdgen"`
	Defaults map[string]string   `yaml:"defaults"`
	Rules    map[string]ruleSpec `yaml:"rules"`
}

// ruleSpec is one answer's rule as written: the values it may take, or
// a pattern its value must match whole, or both.
type ruleSpec struct {
	Allowed []string `yaml:"allowed"`
	Pattern string   `yaml:"pattern"`
}

// The keys overlay.yaml and a rule may hold; any other is a typo that
// would otherwise be ignored.
var (
	descriptionKeys = []string{"name", "version", "zdgen", "defaults", "rules"}
	ruleKeys        = []string{"allowed", "pattern"}
)

// rule is one answer's rule, checked.
type rule struct {
	key     string
	allowed []string // as the field's Set writes them (k8s-version 1.030 is 1.30)
	pattern string   // as written
	re      *regexp.Regexp
}

// checkName is the placeholder service name under which defaults and
// allowed values are checked: the name is each service's own.
const checkName = "overlay-check"

// parseDescription reads overlay.yaml as strictly as zdgen reads --config:
// one document, no key twice at any depth, no merge key, no unknown key.
func (o *Overlay) parseDescription(b []byte) error {
	failf := func(format string, args ...any) error { return o.fail(FileName, format, args...) }
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return failf("empty")
		}
		return failf("%v", err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		if err != nil {
			return failf("%v", err)
		}
		return failf("holds more than one YAML document (the second starts at line %d)", second.Line)
	}
	top := &doc
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		return failf("not a YAML map")
	}
	if err := checkMappings(top); err != nil {
		return failf("%v", err)
	}
	if err := checkKeys(top, "", descriptionKeys); err != nil {
		return failf("%v", err)
	}
	if rules := spec.MappingValue(top, "rules"); rules != nil && rules.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(rules.Content); i += 2 {
			if r := spec.ResolveAlias(rules.Content[i+1]); r.Kind == yaml.MappingNode {
				if err := checkKeys(r, "rules."+rules.Content[i].Value+".", ruleKeys); err != nil {
					return failf("%v", err)
				}
			}
		}
	}
	var d description
	strict := yaml.NewDecoder(bytes.NewReader(b))
	strict.KnownFields(true)
	if err := strict.Decode(&d); err != nil {
		return failf("%v", err)
	}
	if err := o.setIdentity(d); err != nil {
		return failf("%v", err)
	}
	if err := o.setDefaults(d.Defaults); err != nil {
		return failf("defaults: %v", err)
	}
	if err := o.setRules(d.Rules); err != nil {
		return failf("rules: %v", err)
	}
	// The overlay's defaults must pass its own rules, or every service
	// that takes them is refused.
	a, _ := spec.Resolve(o.withName(o.defaults)) // setDefaults resolved them
	for _, r := range o.rules {
		if _, ok := o.defaults[r.key]; ok {
			if err := o.checkRule(r, a); err != nil {
				return failf("the default %s breaks the overlay's own rule: %v", r.key, err)
			}
		}
	}
	return nil
}

// setIdentity checks the name, version and supported zdgen versions.
func (o *Overlay) setIdentity(d description) error {
	if errs := validation.IsDNS1123Label(d.Name); len(errs) > 0 {
		return fmt.Errorf("name %q: %s", spec.Clip(d.Name), strings.Join(errs, "; "))
	}
	if !modsemver.IsValid(d.Version) || modsemver.Canonical(d.Version) != d.Version {
		return fmt.Errorf("version %q: want a semantic version as Go modules write them, such as v1.4.0", spec.Clip(d.Version))
	}
	if strings.TrimSpace(d.Zdgen) == "" {
		return errors.New(`zdgen: say which zdgen template versions the overlay supports, such as ">=0.6.0 <0.7.0"`)
	}
	c, err := semver.NewConstraint(d.Zdgen)
	if err != nil {
		return fmt.Errorf("zdgen %q: not a version constraint (such as \">=0.6.0 <0.7.0\"): %s", spec.Clip(d.Zdgen), spec.Clip(err.Error()))
	}
	o.Name, o.Version, o.Zdgen, o.constraint = d.Name, d.Version, d.Zdgen, c
	return nil
}

// setDefaults checks every default with its field, in field order and
// together, as a service would take them.
func (o *Overlay) setDefaults(defaults map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(defaults)) {
		if err := checkAnswerKey(k); err != nil {
			return err
		}
		if strings.TrimSpace(defaults[k]) == "" {
			return fmt.Errorf("%s: want a value", k)
		}
	}
	if _, err := spec.Resolve(o.withName(defaults)); err != nil {
		return err
	}
	o.defaults = maps.Clone(defaults)
	return nil
}

// checkAnswerKey refuses a key that is no answer, and the name, which is
// each service's own.
func checkAnswerKey(k string) error {
	if k == "name" {
		return errors.New("name: each service names itself; an overlay cannot set or restrict it")
	}
	if _, ok := spec.FieldByKey(k); !ok {
		return fmt.Errorf("%s: unknown answer; known: %s", spec.Clip(k), strings.Join(spec.FieldKeys(), ", "))
	}
	return nil
}

// setRules checks every rule: a known answer, at least one constraint,
// allowed values the field accepts, a pattern that compiles.
func (o *Overlay) setRules(rules map[string]ruleSpec) error {
	for _, k := range slices.Sorted(maps.Keys(rules)) {
		rs := rules[k]
		if err := checkAnswerKey(k); err != nil {
			return err
		}
		if len(rs.Allowed) == 0 && rs.Pattern == "" {
			return fmt.Errorf("%s: give allowed values, a pattern, or both", k)
		}
		r := rule{key: k, pattern: rs.Pattern}
		f, _ := spec.FieldByKey(k)
		for _, v := range rs.Allowed {
			a, err := spec.Resolve(o.withName(map[string]string{k: v}))
			if err != nil {
				return fmt.Errorf("%s: allowed value %q: %v", k, spec.Clip(v), err)
			}
			r.allowed = append(r.allowed, f.Get(&a))
		}
		if rs.Pattern != "" {
			// Anchored: a pattern states what the whole value looks like;
			// an unanchored registry pattern would let
			// evil.example/registry.acme.example/x through.
			re, err := regexp.Compile(`^(?:` + rs.Pattern + `)$`)
			if err != nil {
				return fmt.Errorf("%s: pattern %q: %s", k, spec.Clip(rs.Pattern), spec.Clip(err.Error()))
			}
			r.re = re
		}
		o.rules = append(o.rules, r)
	}
	return nil
}

func (o *Overlay) withName(given map[string]string) map[string]string {
	m := WithName(given, checkName)
	m["name"] = checkName
	return m
}

// NamePlaceholder in a default stands for the service's name, as in a
// template's path: module: github.com/acme/_name_.
const NamePlaceholder = "_name_"

// WithName returns defaults with NamePlaceholder replaced by name.
func WithName(defaults map[string]string, name string) map[string]string {
	m := make(map[string]string, len(defaults))
	for k, v := range defaults {
		m[k] = strings.ReplaceAll(v, NamePlaceholder, name)
	}
	return m
}

// Defaults returns the overlay's default answers, key to value as a
// person would type them, NamePlaceholder left in. They come before
// zdgen's own defaults and after what a person gives.
func (o *Overlay) Defaults() map[string]string { return maps.Clone(o.defaults) }

// Supports says whether the overlay supports zdgen templates of version
// templatesVersion (such as "0.6.0"); an error says what to do.
func (o *Overlay) Supports(templatesVersion string) error {
	v, err := semver.NewVersion(templatesVersion)
	if err != nil {
		return o.fail("", "zdgen templates version %q: %v", spec.Clip(templatesVersion), err)
	}
	if !o.constraint.Check(v) {
		return o.fail("", "supports zdgen templates %s, not %s: use a release of the overlay made for templates %s, or a zdgen whose templates it supports", spec.Clip(o.Zdgen), templatesVersion, templatesVersion)
	}
	return nil
}

// Check applies the overlay's rules to complete answers. A broken rule is
// a *spec.InputError naming the answer, the overlay and the rule; answers
// that break several are a *RulesError naming each, in prompt order, so
// that a person fixes them in one go rather than one run at a time.
func (o *Overlay) Check(a spec.Answers) error {
	var errs []error
	for _, f := range spec.Fields {
		for _, r := range o.rules {
			if r.key != f.Key {
				continue
			}
			if err := o.checkRule(r, a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return &RulesError{Overlay: o.ID(), Errs: errs}
}

// RulesError is answers that break more than one of an overlay's rules.
// Each of Errs is a *spec.InputError, which errors.As finds, so it is bad
// input like a single broken rule.
type RulesError struct {
	Overlay string
	Errs    []error
}

func (e *RulesError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("overlay %s refuses %d answers: %s", e.Overlay, len(e.Errs), strings.Join(msgs, "; "))
}

// Unwrap gives each broken rule, for errors.As and errors.Is.
func (e *RulesError) Unwrap() []error { return e.Errs }

// CheckAnswer applies the overlay's rule for one answer, key, to a
// (complete, or complete up to key): a prompt checks each answer as it
// is typed, so a broken rule is asked again at once.
func (o *Overlay) CheckAnswer(a spec.Answers, key string) error {
	for _, r := range o.rules {
		if r.key == key {
			return o.checkRule(r, a)
		}
	}
	return nil
}

func (o *Overlay) checkRule(r rule, a spec.Answers) error {
	f, _ := spec.FieldByKey(r.key)
	if !f.AppliesTo(&a) {
		return nil // kept, but unused: replicas under autoscale
	}
	v := f.Get(&a)
	if len(r.allowed) > 0 && !slices.Contains(r.allowed, v) {
		return &spec.InputError{Field: r.key, Value: v, Rule: fmt.Sprintf("overlay %s, rule %s.allowed: must be one of %s", o.ID(), r.key, spec.Clip(strings.Join(r.allowed, ", ")))}
	}
	if r.re != nil && !r.re.MatchString(v) {
		return &spec.InputError{Field: r.key, Value: v, Rule: fmt.Sprintf("overlay %s, rule %s.pattern: must match %s whole", o.ID(), r.key, spec.Clip(r.pattern))}
	}
	return nil
}

// checkMappings refuses, at any depth, a key given twice (a parser that
// lets the last one win hides a mistake) and a merge key (<<), whose
// effect on what is checked is hard to see.
func checkMappings(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := spec.ResolveAlias(n.Content[i])
			if k.Tag == "!!merge" || k.Value == "<<" {
				return fmt.Errorf("line %d: YAML merge keys (<<) are not supported; write each key out", k.Line)
			}
			if line, ok := seen[k.Value]; ok {
				return fmt.Errorf("%s given twice (lines %d and %d)", spec.Clip(k.Value), line, k.Line)
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := checkMappings(c); err != nil {
			return err
		}
	}
	return nil
}

// checkKeys refuses a key of mapping m that is not one of known.
func checkKeys(m *yaml.Node, prefix string, known []string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := spec.ResolveAlias(m.Content[i])
		if !slices.Contains(known, k.Value) {
			sorted := slices.Clone(known)
			sort.Strings(sorted)
			return fmt.Errorf("line %d: unknown key %s%s; known: %s", k.Line, prefix, spec.Clip(k.Value), strings.Join(sorted, ", "))
		}
	}
	return nil
}
