package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
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
	return ResolveWith(given, Resolving{TakeDefaults: true})
}

// Prompter asks for one answer. It proposes def, and must keep asking
// until check accepts the answer (or the person gives up).
type Prompter interface {
	Ask(f Field, def string, check func(string) error) (string, error)
}

// Resolving says how ResolveWith completes the answers given.
type Resolving struct {
	// Ask asks for an answer not given; nil never asks.
	Ask Prompter
	// TakeDefaults takes the default of every answer not given, and never
	// asks. Without it and without Ask, answers not given are missing.
	TakeDefaults bool
	// Recorded are an upgrade's recorded answers: the defaults, where they
	// still apply, instead of zdgen's.
	Recorded *Answers
	// Preset gives a default that comes before zdgen's (an organisation
	// overlay's), given the answers so far; not used with Recorded.
	Preset func(key string, so Answers) (string, bool)
	// Check judges an asked answer beyond the fields' own rules (an
	// overlay's rules), so that a broken one is asked again at once.
	Check func(a Answers, key string) error
}

// MissingError lists the answers that were neither given nor could be
// asked or defaulted, by key.
type MissingError struct{ Keys []string }

func (e *MissingError) BadInput() {}

func (e *MissingError) Error() string { return "missing answers: " + strings.Join(e.Keys, ", ") }

// ResolveWith turns what was given into complete answers: each field in
// order is taken from given, else asked, else defaulted, as r says. The
// precedence of a default is: a recorded answer that still applies (or,
// where the answers before it changed whether it applies, one that still
// passes), then a preset, then zdgen's. Without a way to ask and without
// TakeDefaults, every answer not given is reported at once
// (*MissingError); the name is never defaulted.
func ResolveWith(given map[string]string, r Resolving) (Answers, error) {
	ask := r.Ask
	if r.TakeDefaults {
		ask = nil
	}
	if ask == nil && !r.TakeDefaults {
		var missing []string
		base := Defaults("")
		for _, f := range Fields {
			if _, ok := given[f.Key]; !ok && !f.Optional() && f.AppliesTo(&base) {
				missing = append(missing, f.Key)
			}
		}
		if len(missing) > 0 {
			return Answers{}, &MissingError{missing}
		}
	}
	var a Answers
	for _, f := range Fields {
		def := r.defaultOf(f, &a)
		v, ok := given[f.Key]
		switch {
		case ok:
			if err := f.Set(&a, v); err != nil {
				return a, err
			}
			continue
		case f.Key == "name" && ask == nil:
			return a, &MissingError{[]string{"name"}}
		case ask == nil || f.Override() || !f.AppliesTo(&a):
			v = def
		default:
			var err error
			if v, err = ask.Ask(f, def, r.checker(f, a)); err != nil {
				return a, err
			}
		}
		if err := f.Set(&a, v); err != nil {
			return a, ExplainDefault(f, &a, err)
		}
	}
	return a, nil
}

// defaultOf is the default f takes after the answers a so far.
func (r Resolving) defaultOf(f Field, a *Answers) string {
	def := f.Default(a)
	if r.Preset != nil && r.Recorded == nil {
		if v, ok := r.Preset(f.Key, *a); ok {
			def = v
		}
	}
	rec := r.Recorded
	if rec == nil {
		return def
	}
	// A recorded answer is the default unless it no longer applies (the
	// flush timeout of tracing just turned off, or on), or was itself the
	// default of answers that changed (Carried).
	if f.AppliesTo(a) && f.AppliesTo(rec) {
		return f.Carried(a, rec)
	}
	// Where the answers before it changed whether it applies, it keeps its
	// recorded value if that still passes: replicas is kept while autoscale
	// is on and counts again when autoscale turns off. A value that does
	// not fit the change (a flush timeout as tracing turns off, or 0s as
	// it turns on) takes the default.
	scratch := *a
	if f.Set(&scratch, f.Get(rec)) == nil {
		return f.Get(rec)
	}
	return def
}

// checker judges an answer to f given after the answers a: alone, against
// the answers before it, and by r.Check.
func (r Resolving) checker(f Field, a Answers) func(string) error {
	return func(s string) error {
		scratch := a
		if err := f.Set(&scratch, s); err != nil {
			return err
		}
		if err := CheckSoFar(scratch, f.Key); err != nil {
			return err
		}
		if r.Check != nil {
			return r.Check(scratch, f.Key)
		}
		return nil
	}
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

// ReplicasUsed refuses a replica count someone gave for answers with
// autoscale on: the autoscaler sets the pod count from its MIN, so the
// number would be recorded and not used, and nothing would say so. fix
// says how to mean one or the other. (A count carried in an answers file
// is fine: a .zdgen.yaml records replicas beside autoscale, kept for
// when autoscale turns off.)
func ReplicasUsed(a Answers, fix string) error {
	if a.Autoscale == AutoscaleOff {
		return nil
	}
	lo, hi, err := ParseAutoscale(a.Autoscale)
	if err != nil {
		return err
	}
	return &InputError{Field: "replicas", Value: strconv.Itoa(a.Replicas), Rule: fmt.Sprintf("not used with autoscale %s: the autoscaler sets the pod count, from %d to %d pods; %s", a.Autoscale, lo, hi, fix)}
}

// maxConfigSize bounds what --config reads: an answers file is a few lines.
const maxConfigSize = 1 << 20

// ReadAnswersFile reads an answers file (--config name): a regular file,
// or stdin for "-", at most maxConfigSize bytes. A device or a FIFO is refused, because it may never
// end or never answer; When ctx is done while it waits for stdin, it returns ctx.Err() at once.
func ReadAnswersFile(ctx context.Context, name string, stdin io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := readAnswersFile(name, stdin)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func readAnswersFile(name string, stdin io.Reader) ([]byte, error) {
	r, what := stdin, "--config - (stdin)"
	if name != "-" {
		what = "--config " + name
		// Stat before opening: opening a FIFO blocks until a writer comes.
		fi, err := os.Stat(name)
		if err != nil {
			return nil, BadInput(fmt.Errorf("--config: %w", err))
		}
		if !fi.Mode().IsRegular() {
			return nil, BadInput(fmt.Errorf("%s: not a regular file (%s); give an answers file, or - to read stdin", what, fileKind(fi.Mode())))
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, BadInput(fmt.Errorf("--config: %w", err))
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return nil, BadInput(fmt.Errorf("%s: not a regular file; give an answers file, or - to read stdin", what))
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, BadInput(fmt.Errorf("%s: %w", what, err))
	}
	if len(b) > maxConfigSize {
		return nil, BadInput(fmt.Errorf("%s: larger than the limit of 1 MiB; an answers file is a few lines", what))
	}
	return b, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}
