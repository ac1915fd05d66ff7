package overlay

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/zdgen/zdgen/generator/render"
)

// Bounds on rendering an overlay's templates.
//
// An overlay template is code that zdgen runs for every service using the
// overlay: at new, at every upgrade, in every CI job's upgrade --check.
// text/template runs whatever it says: [[ range 100000000000 ]][[ end ]]
// loops for hours without calling a function or writing a byte, and
// sprig's repeat, until and friends allocate whatever their arguments
// ask, so that one short line crashes the process out of memory. So a
// render runs under bounds on its work, its time, the values its
// functions make and what it writes. Reaching one is a broken overlay
// (bad input, exit 2) naming the overlay, the template and the bound;
// the bounds are far above what generating a few files takes.
const (
	// maxSteps bounds the work of one render of an overlay (all its
	// templates): loop iterations, function calls, template calls and
	// writes. The acme example overlay takes 27; 250,000 is some 10,000
	// times that, and about a second of work even on a loaded machine (a
	// step is a few microseconds), well inside renderTimeout.
	maxSteps = 250_000
	// maxCallDepth bounds how deep templates call templates. text/template's
	// own bound (100,000) lets a template calling itself spend a second
	// and over 100 MB of stack before it stops.
	maxCallDepth = 100
	// maxValueSize bounds one value a function makes, and the arguments
	// of one call together, in about the bytes they take in memory:
	// twice what a rendered file may hold (maxFileSize), as values end
	// up in files, with room for a list's or a map's bookkeeping.
	maxValueSize = 2 * maxFileSize
	// maxValueDepth bounds how deep lists, maps and structs nest in a
	// value. Encoders recurse per level and toPrettyJson indents each
	// line by it (quadratic in the depth), and a map that holds itself
	// (set $d "d" $d) nests without end: fmt would overflow the stack
	// printing it.
	maxValueDepth = 64
	// maxAllocated bounds the values all of a render's function calls
	// make, together: a template can keep a value in as many variables
	// as it has lines. What is no longer used is freed, so the process
	// holds less.
	maxAllocated = 256 << 20
)

// renderTimeout bounds the time of one render of an overlay, all its
// templates: 5 s is several times what maxSteps takes, so that an
// overlay passes or fails on its steps, alike on a fast laptop and on a
// loaded CI machine, and short enough that whoever waits on a looping
// overlay sees why at once. It is for work that takes long in few steps
// (key derivations, regular expressions over a megabyte). A variable, so
// that a test can shorten it.
var renderTimeout = 5 * time.Second

// The functions the actions instrument inserts call: names no overlay
// has a reason to use.
const (
	stepFunc  = "zdgenStep"
	enterFunc = "zdgenEnter"
	leaveFunc = "zdgenLeave"
)

// boundError is a bound a template reached; renderOne names the overlay
// and the template.
type boundError struct{ msg string }

func (e *boundError) Error() string { return e.msg }

func boundf(format string, args ...any) *boundError {
	return &boundError{fmt.Sprintf(format, args...)}
}

// instrument makes every repetition in t's templates pass through the
// bounds: an action calling stepFunc starts each range body, so that
// each iteration counts; enterFunc and leaveFunc start and end each
// template, so that each call counts and the depth of calls is known.
// The actions print nothing. Without them a loop that calls no function
// and writes nothing, or a template calling itself, would run outside
// every bound.
func instrument(t *template.Template) error {
	step, err := action(stepFunc)
	if err != nil {
		return err
	}
	enter, err := action(enterFunc)
	if err != nil {
		return err
	}
	leave, err := action(leaveFunc)
	if err != nil {
		return err
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		stepRanges(tt.Tree.Root, step)
		root := tt.Tree.Root
		root.Nodes = append(append([]parse.Node{enter}, root.Nodes...), leave)
	}
	return nil
}

// action is the parse tree node of [[ name ]]: parsed alone, so that it
// is built as text/template builds its own nodes. One node serves every
// place it is inserted; executing a tree does not change it.
func action(name string) (parse.Node, error) {
	left, right := render.Delims()
	t, err := template.New(name).Delims(left, right).Funcs(template.FuncMap{name: func() string { return "" }}).Parse(left + name + right)
	if err != nil {
		return nil, err
	}
	return t.Tree.Root.Nodes[0], nil
}

// stepRanges puts step first in every range body below l.
func stepRanges(l *parse.ListNode, step parse.Node) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.RangeNode:
			stepRanges(n.List, step)
			stepRanges(n.ElseList, step)
			n.List.Nodes = append([]parse.Node{step}, n.List.Nodes...)
		case *parse.IfNode:
			stepRanges(n.List, step)
			stepRanges(n.ElseList, step)
		case *parse.WithNode:
			stepRanges(n.List, step)
			stepRanges(n.ElseList, step)
		}
	}
}

// execution is one render of an overlay's templates and the bounds they
// share. It belongs to the goroutine that renders, but for src, which
// the caller reads when the time is up.
type execution struct {
	ctx       context.Context
	timeout   time.Duration
	deadline  time.Time
	steps     int
	depth     int
	allocated int
	written   int
	src       atomic.Pointer[string] // the template rendering now
	err       error                  // the first bound reached: every later step fails with it
	funcs     template.FuncMap
}

func newExecution(ctx context.Context) *execution {
	e := &execution{ctx: ctx, timeout: renderTimeout}
	e.deadline = time.Now().Add(e.timeout)
	e.funcs = e.boundFuncs(funcMap())
	return e
}

// timeUp is the error at the time bound.
func (e *execution) timeUp() *boundError {
	return boundf("still rendering after %v, the bound for all of an overlay's templates: does a loop never end?", e.timeout)
}

// step counts one step and checks every bound that is not about size:
// the steps, the context, the time.
func (e *execution) step() error {
	if e.err != nil {
		return e.err
	}
	e.steps++
	switch {
	case e.steps > maxSteps:
		e.err = boundf("stopped after %d steps (loop iterations, function and template calls, writes); generating a few files takes a few hundred: does a loop never end?", maxSteps)
	case e.ctx.Err() != nil:
		e.err = e.ctx.Err()
	case time.Now().After(e.deadline):
		e.err = e.timeUp()
	}
	return e.err
}

// stop records err as the bound reached, unless one was already.
func (e *execution) stop(err error) error {
	if e.err == nil {
		e.err = err
	}
	return e.err
}

// must panics with err: text/template turns a panic in a function it
// calls into that call's error, which stops the template.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// boundFuncs returns fm with every function bounded (see wrap), and the
// functions instrument's actions call.
func (e *execution) boundFuncs(fm template.FuncMap) template.FuncMap {
	m := make(template.FuncMap, len(fm)+len(textBuiltins)+3)
	for name, fn := range textBuiltins {
		m[name] = e.wrap(name, fn)
	}
	for name, fn := range fm {
		m[name] = e.wrap(name, fn)
	}
	m[stepFunc] = func() string { must(e.step()); return "" }
	m[enterFunc] = func() string {
		must(e.step())
		if e.depth++; e.depth > maxCallDepth {
			must(e.stop(boundf("templates nested more than %d deep ([[ template ]] calling templates): does one call itself without end?", maxCallDepth)))
		}
		return ""
	}
	m[leaveFunc] = func() string { e.depth--; return "" }
	return m
}

// textBuiltins are text/template's builtins that make text from their
// arguments. A function map may replace a builtin (text/template looks in
// it first), so these are bounded like sprig's functions. The others
// (and, or, not, len, index, slice, eq and the comparisons, call) make
// nothing larger than what they are given.
var textBuiltins = template.FuncMap{
	"print":    fmt.Sprint,
	"printf":   fmt.Sprintf,
	"println":  fmt.Sprintln,
	"html":     template.HTMLEscaper,
	"js":       template.JSEscaper,
	"urlquery": template.URLQueryEscaper,
}

// wrap returns fn (named name) bounded: each call is a step; its
// arguments together must fit a value, and so must what a function that
// can make more than a small multiple of its arguments would make
// (estimates), before it runs; what it returns must fit a value, and is
// added to what the render has made. reflect.MakeFunc keeps fn's type, so
// text/template checks and converts arguments as for fn itself.
func (e *execution) wrap(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	estimate, cost := estimates[name], costs[name]
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		must(e.step())
		in := 0
		for _, a := range args {
			n, deep := measure(a, maxValueSize)
			if deep {
				must(e.stop(boundf("%s is given a value nested more than %d deep", name, maxValueDepth)))
			}
			in = add(in, n)
		}
		if in > maxValueSize {
			must(e.stop(boundf("%s is given %s of arguments, more than the %d MiB one value may hold", name, bytesAbout(in), maxValueSize>>20)))
		}
		if estimate != nil {
			if n := estimate(args); n > maxValueSize {
				must(e.stop(boundf("%s would make %s, more than the %d MiB one value may hold", name, bytesAbout(n), maxValueSize>>20)))
			}
		}
		if cost != nil {
			e.steps = add(e.steps, cost(args)/16)
			must(e.step())
		}
		var out []reflect.Value
		if t.IsVariadic() {
			out = v.CallSlice(args)
		} else {
			out = v.Call(args)
		}
		if len(out) == 2 && !out[1].IsNil() {
			return out
		}
		n, deep := measure(out[0], maxValueSize)
		switch {
		case deep:
			must(e.stop(boundf("%s makes a value nested more than %d deep", name, maxValueDepth)))
		case n > maxValueSize:
			must(e.stop(boundf("%s made %s, more than the %d MiB one value may hold", name, bytesAbout(n), maxValueSize>>20)))
		}
		if e.allocated = add(e.allocated, n); e.allocated > maxAllocated {
			must(e.stop(boundf("its function calls made more than %d MiB of values in all; generating a few files takes far less", maxAllocated>>20)))
		}
		return out
	}).Interface()
}

// boundedWriter holds one template's output, bounded as the overlay's
// files are when read: maxFileSize for the file, maxTotalSize for all of
// an overlay's rendered files. Each write is a step.
type boundedWriter struct {
	e   *execution
	buf []byte
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.e.step(); err != nil {
		return 0, err
	}
	if len(w.buf)+len(p) > maxFileSize {
		return 0, w.e.stop(boundf("renders more than %d MiB; an overlay's files are small text files", maxFileSize>>20))
	}
	if w.e.written+len(p) > maxTotalSize {
		return 0, w.e.stop(boundf("the overlay's templates render more than %d MiB in all; an overlay is a few templates and patches", maxTotalSize>>20))
	}
	w.e.written += len(p)
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// measure returns about the bytes v takes in memory (a string its length
// and header, a number 8, a list or map its elements and their
// bookkeeping) and whether lists, maps and structs nest in it deeper
// than maxValueDepth. It stops once the size passes limit or the depth
// the bound, so that it ends on a value holding itself, and on a value
// shared by many places, counted at each.
func measure(v reflect.Value, limit int) (size int, tooDeep bool) {
	m := measurer{limit: limit}
	m.walk(v, 0)
	return m.size, m.deep
}

type measurer struct {
	size, limit int
	deep        bool
}

func (m *measurer) done() bool { return m.size > m.limit || m.deep }

func (m *measurer) walk(v reflect.Value, depth int) {
	if m.done() {
		return
	}
	switch v.Kind() {
	case reflect.String:
		m.size += 16 + v.Len()
	case reflect.Interface, reflect.Pointer:
		m.size += 16
		if !v.IsNil() {
			m.walk(v.Elem(), depth)
		}
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct:
		if depth == maxValueDepth {
			m.deep = true
			return
		}
		switch v.Kind() {
		case reflect.Struct:
			for i := 0; i < v.NumField() && !m.done(); i++ {
				m.walk(v.Field(i), depth+1)
			}
		case reflect.Map:
			m.size += 48
			for it := v.MapRange(); it.Next() && !m.done(); {
				m.size += 16
				m.walk(it.Key(), depth+1)
				m.walk(it.Value(), depth+1)
			}
		default:
			m.size += 24
			if v.Type().Elem().Kind() == reflect.Uint8 {
				m.size += v.Len()
				return
			}
			for i := 0; i < v.Len() && !m.done(); i++ {
				m.walk(v.Index(i), depth+1)
			}
		}
	default:
		m.size += 8
	}
}

// maxEstimate stands for "without bound": estimates saturate there
// rather than overflow.
const maxEstimate = math.MaxInt64 / 4

func add(a, b int) int { return min(a+b, maxEstimate) } // both are at most maxEstimate

func mul(a, b int) int {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > maxEstimate/b {
		return maxEstimate
	}
	return a * b
}

// bytesAbout says n bytes for a message.
func bytesAbout(n int) string {
	switch {
	case n >= maxEstimate:
		return "a value without bound"
	case n >= 1<<30:
		return fmt.Sprintf("about %.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("about %.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("about %d bytes", n)
}

// Sprig's hermetic functions, and text/template's printf and the like,
// by how much they can make of what they are given.
//
// Bounded before they run, by their worst case (estimates): those whose
// result can be far larger than their arguments, because a number says
// how much (repeat, until, untilStep, seq, indent, nindent, printf's
// widths and precisions), because a string is inserted once per match or
// line (replace, regexReplaceAll and regexReplaceAllLiteral and their
// must forms, wrap, wrapWith, join's separator, indent), because each
// small part becomes a string or map entry of its own (split, splitn,
// splitList, regexSplit, regexFindAll), or because they escape, quote or
// print (html, js: up to 6 characters a byte; urlquery 3; quote 4;
// toJson and its kin 6, and toPrettyJson indents each nested line;
// printf, print, println, cat, squote). Bounded by their work (costs):
// uniq compares every pair.
//
// The others make at most a small multiple of what they are given, which
// the bound on arguments holds to maxValueSize, and their result is
// measured after: lists and maps (list, tuple, dict, append, prepend,
// concat, set, merge, pick, omit, deepCopy, chunk: their elements, a
// chunk a list), fmt's plain verbs (toString, toStrings, sortAlpha: at
// most 24 characters a number), case and trimming (upper, title,
// snakecase, camelcase, swapcase, trim, nospace, abbrev, initials,
// substr, trunc), encodings (b64enc 4/3, b32enc 8/5, the decoders
// smaller, regexQuoteMeta 2), fromJson (some 24 bytes of Go values per
// byte of JSON, and no deeper than encoding/json's 10,000 levels, which
// the result's depth bound then refuses), hashes, paths, semver,
// numbers, durations, reflection, and zdgen's own escapers (yamlString
// 6, markdown and dockerString 2). derivePassword takes some 100 ms and
// 32 MiB of scrypt memory a call, freed after: the time bound holds a
// loop of them.
var estimates = map[string]func(args []reflect.Value) int{
	"repeat":                     func(a []reflect.Value) int { return mul(int(a[0].Int()), a[1].Len()) },
	"until":                      func(a []reflect.Value) int { return intsSize(untilCount(0, a[0].Int(), sign(a[0].Int()))) },
	"untilStep":                  func(a []reflect.Value) int { return intsSize(untilCount(a[0].Int(), a[1].Int(), a[2].Int())) },
	"seq":                        seqSize,
	"indent":                     func(a []reflect.Value) int { return indentSize(a[0].Int(), a[1].String()) },
	"nindent":                    func(a []reflect.Value) int { return add(1, indentSize(a[0].Int(), a[1].String())) },
	"wrap":                       func(a []reflect.Value) int { return wrapSize(a[1].String(), "\n") },
	"wrapWith":                   func(a []reflect.Value) int { return wrapSize(a[2].String(), a[1].String()) },
	"replace":                    replaceSize,
	"regexReplaceAll":            regexReplaceSize(true),
	"mustRegexReplaceAll":        regexReplaceSize(true),
	"regexReplaceAllLiteral":     regexReplaceSize(false),
	"mustRegexReplaceAllLiteral": regexReplaceSize(false),
	"regexSplit":                 regexPartsSize,
	"mustRegexSplit":             regexPartsSize,
	"regexFindAll":               regexPartsSize,
	"mustRegexFindAll":           regexPartsSize,
	"split":                      func(a []reflect.Value) int { return splitSize(a[0].String(), -1, a[1].String(), 56) },
	"splitn":                     func(a []reflect.Value) int { return splitSize(a[0].String(), a[1].Int(), a[2].String(), 56) },
	"splitList":                  func(a []reflect.Value) int { return splitSize(a[0].String(), -1, a[1].String(), 16) },
	"join": func(a []reflect.Value) int {
		return add(textSize(a[1], plainText), mul(elements(a[1]), a[0].Len()))
	},
	"printf":           func(a []reflect.Value) int { return printfSize(a[0].String(), a[1].Interface().([]any)) },
	"print":            func(a []reflect.Value) int { return add(textSize(a[0], plainText), a[0].Len()) },
	"println":          func(a []reflect.Value) int { return add(textSize(a[0], plainText), a[0].Len()+1) },
	"cat":              func(a []reflect.Value) int { return add(textSize(a[0], plainText), a[0].Len()) },
	"squote":           func(a []reflect.Value) int { return add(textSize(a[0], plainText), mul(3, a[0].Len())) },
	"html":             func(a []reflect.Value) int { return mul(6, textSize(a[0], plainText)) },
	"js":               func(a []reflect.Value) int { return mul(6, textSize(a[0], plainText)) },
	"urlquery":         func(a []reflect.Value) int { return mul(3, textSize(a[0], plainText)) },
	"quote":            func(a []reflect.Value) int { return add(mul(4, textSize(a[0], plainText)), mul(3, a[0].Len())) },
	"toJson":           func(a []reflect.Value) int { return textSize(a[0], jsonText) },
	"mustToJson":       func(a []reflect.Value) int { return textSize(a[0], jsonText) },
	"toRawJson":        func(a []reflect.Value) int { return textSize(a[0], jsonText) },
	"mustToRawJson":    func(a []reflect.Value) int { return textSize(a[0], jsonText) },
	"toPrettyJson":     func(a []reflect.Value) int { return textSize(a[0], prettyJSONText) },
	"mustToPrettyJson": func(a []reflect.Value) int { return textSize(a[0], prettyJSONText) },
}

// costs are the functions whose time grows faster than what they are
// given, in comparisons: a step stands for 16 (a step is about a
// microsecond of work, a comparison some tens of nanoseconds).
var costs = map[string]func(args []reflect.Value) int{
	"uniq":     func(a []reflect.Value) int { n := elements(a[0]); return mul(n, n) },
	"mustUniq": func(a []reflect.Value) int { n := elements(a[0]); return mul(n, n) },
}

func sign(n int64) int64 {
	if n < 0 {
		return -1
	}
	return 1
}

// intsSize is measure's size of a []int of n elements.
func intsSize(n int) int { return add(24, mul(n, 8)) }

// untilCount is how many numbers sprig's untilStep makes, or maxEstimate
// when its loop (i += step while i < stop) would overflow and never end.
func untilCount(start, stop, step int64) int {
	var dist, by uint64
	switch {
	case step > 0 && start < stop:
		if stop > math.MaxInt64-step {
			return maxEstimate
		}
		dist, by = uint64(stop)-uint64(start), uint64(step)
	case step < 0 && start > stop:
		if stop < math.MinInt64-step {
			return maxEstimate
		}
		dist, by = uint64(start)-uint64(stop), uint64(-step)
	default:
		return 0
	}
	n := dist / by
	if dist%by != 0 {
		n++
	}
	return int(min(n, maxEstimate))
}

// seqSize follows sprig's seq: its parameters (end; start, end; start,
// step, end) become an untilStep, whose numbers are printed with spaces
// between them, up to 21 characters each.
func seqSize(a []reflect.Value) int {
	p := a[0].Interface().([]int)
	var start, stop, step int64
	switch len(p) {
	case 1:
		start, stop, step = 1, int64(p[0]), 1
		if stop < start {
			step = -1
		}
		stop += step
	case 2:
		start, stop, step = int64(p[0]), int64(p[1]), 1
		if stop < start {
			step = -1
		}
		stop += step
	case 3:
		start, stop, step = int64(p[0]), int64(p[2]), int64(p[1])
		inc := int64(1)
		if stop < start {
			if inc = -1; step > 0 {
				return 0
			}
		}
		stop += inc
	default:
		return 0
	}
	return mul(untilCount(start, stop, step), 21)
}

// indentSize is sprig's indent: the padding before every line.
func indentSize(spaces int64, s string) int {
	return add(len(s), mul(int(spaces), strings.Count(s, "\n")+1))
}

// wrapSize is goutils' WrapCustom: sep (a newline when empty) at most
// once a byte.
func wrapSize(s, sep string) int {
	return add(len(s), mul(len(s)+1, max(len(sep), 1)))
}

// replaceSize is sprig's replace (old, new, src): new once per old.
func replaceSize(a []reflect.Value) int {
	old, repl, src := a[0].String(), a[1].String(), a[2].String()
	return add(len(src), mul(strings.Count(src, old), len(repl)))
}

// maxMatches bounds how many matches an estimate counts: more than a
// value can hold parts of.
const maxMatches = maxValueSize / 16

// matches counts the matches of re in s, up to n when n >= 0; past
// maxMatches it says len(s)+1, as many as there can be.
func matches(re *regexp.Regexp, s string, n int) int {
	limit := maxMatches + 1
	if n >= 0 && n < limit {
		limit = n
	}
	m := len(re.FindAllStringIndex(s, limit))
	if m > maxMatches {
		m = len(s) + 1
	}
	return m
}

// regexReplaceSize is ReplaceAllString (or ReplaceAllLiteralString): the
// replacement once per match, and with expand each $reference in it a
// copy of (part of) the match, which together are at most s.
func regexReplaceSize(expand bool) func(a []reflect.Value) int {
	return func(a []reflect.Value) int {
		re, err := regexp.Compile(a[0].String())
		if err != nil {
			return 0 // the function fails on it
		}
		s, repl := a[1].String(), a[2].String()
		n := add(len(s), mul(matches(re, s, -1), len(repl)))
		if expand {
			n = add(n, mul(strings.Count(repl, "$"), len(s)))
		}
		return n
	}
}

// regexPartsSize is Split or FindAllString (regex, s, n): a string per
// match, and s.
func regexPartsSize(a []reflect.Value) int {
	re, err := regexp.Compile(a[0].String())
	if err != nil {
		return 0
	}
	s := a[1].String()
	return add(24+len(s), mul(matches(re, s, int(a[2].Int()))+1, 16))
}

// splitSize is strings.SplitN's parts of s as a list (16 bytes a part) or
// as sprig's map of _0, _1... (56).
func splitSize(sep string, n int64, s string, perPart int) int {
	parts := strings.Count(s, sep) + 1
	if n >= 0 {
		parts = min(parts, int(min(n, math.MaxInt32)))
	}
	return add(48+len(s), mul(parts, perPart))
}

// elements is how many elements a list has; anything else is one.
func elements(v reflect.Value) int {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return v.Len()
	}
	return 1
}

// textCost is how much text a value can make, by part.
type textCost struct {
	perByte  int // of a string
	perBytes int // of a []byte
	number   int
	element  int // per element of a list, entry of a map or field of a struct, besides its own text
	indent   int // per element, per level it is nested at
}

var (
	// fmt's %v, %s and %d, print and join: a string as it is, a number
	// in at most 24 characters (a float64's shortest form), a []byte as
	// decimal numbers ([104 105]).
	plainText = textCost{perByte: 1, perBytes: 4, number: 24, element: 2}
	// Any verb or flag of printf's: %q and %x make up to 4 characters of
	// a byte (\x00), %f prints 1e308 in 316 digits, %#v adds type names.
	anyText = textCost{perByte: 4, perBytes: 4, number: 330, element: 40}
	// encoding/json: \u0000 takes 6 characters a byte; a []byte is
	// base64.
	jsonText = textCost{perByte: 6, perBytes: 2, number: 24, element: 4}
	// json.MarshalIndent as sprig calls it: a line per element, indented
	// two spaces per level.
	prettyJSONText = textCost{perByte: 6, perBytes: 2, number: 24, element: 6, indent: 2}
)

// textSize is how long text made of v can be, at cost c; it stops
// counting past maxEstimate.
func textSize(v reflect.Value, c textCost) int {
	t := texter{c: c}
	t.walk(v, 0)
	return t.n
}

type texter struct {
	c textCost
	n int
}

func (t *texter) walk(v reflect.Value, depth int) {
	if t.n >= maxValueSize*8 || depth > maxValueDepth {
		t.n = maxEstimate // larger than any bound: no need to count on
		return
	}
	c := t.c
	switch v.Kind() {
	case reflect.Invalid:
		t.n += 5 // <nil>
	case reflect.String:
		t.n = add(t.n, mul(v.Len(), c.perByte)+2)
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			t.n += 5
		} else {
			t.walk(v.Elem(), depth)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			t.n = add(t.n, mul(v.Len(), c.perBytes)+2)
			return
		}
		t.n += 2
		for i := 0; i < v.Len() && t.n < maxEstimate; i++ {
			t.n += c.element + c.indent*(depth+1)
			t.walk(v.Index(i), depth+1)
		}
	case reflect.Map:
		t.n += 5
		for it := v.MapRange(); it.Next() && t.n < maxEstimate; {
			t.n += c.element + c.indent*(depth+1)
			t.walk(it.Key(), depth+1)
			t.walk(it.Value(), depth+1)
		}
	case reflect.Struct:
		t.n += 2
		for i := 0; i < v.NumField() && t.n < maxEstimate; i++ {
			t.n += c.element + c.indent*(depth+1) + len(v.Type().Field(i).Name)
			t.walk(v.Field(i), depth+1)
		}
	default:
		t.n += c.number
	}
}

// printfSize is how long fmt.Sprintf(format, args...) can be: the format,
// the padding its widths and precisions ask, and for each verb the
// longest argument (an argument index can use one many times), at the
// cost of the verbs it holds; arguments no verb uses are printed after
// it.
func printfSize(format string, args []any) int {
	verbs, pad, wide := scanFormat(format)
	c := plainText
	if wide {
		c = anyText
	}
	longest, all := 0, 0
	for _, a := range args {
		n := textSize(reflect.ValueOf(a), c)
		longest, all = max(longest, n), add(all, n)
	}
	const bad = 32 // %!d(string=...), %!(EXTRA ...) and the like
	n := add(len(format)+pad, mul(verbs, add(longest, bad)))
	if len(args) > verbs {
		n = add(n, add(all, mul(len(args), bad)))
	}
	return n
}

// plainVerbs print an argument at most as long as plainText says.
const plainVerbs = "vsdtgGeEcU"

// scanFormat reads a printf format as fmt does: the verbs, the padding
// their widths and precisions ask (fmt refuses one over a million; a *
// takes one from the arguments, up to that), and whether any verb or flag
// can print an argument longer than plainText says.
func scanFormat(f string) (verbs, pad int, wide bool) {
	const maxWidth = 1_000_000
	number := func(i int) (int, int) {
		n := 0
		for ; i < len(f) && f[i] >= '0' && f[i] <= '9'; i++ {
			n = min(n*10+int(f[i]-'0'), maxWidth+1)
		}
		if n > maxWidth {
			n = 0 // fmt prints %!(BADWIDTH) instead
		}
		return n, i
	}
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		for ; i < len(f) && strings.IndexByte("+-# 0", f[i]) >= 0; i++ {
			wide = wide || f[i] == '#'
		}
		for part := 0; part < 2 && i < len(f); part++ { // width, then precision
			if f[i] == '[' {
				for ; i < len(f) && f[i] != ']'; i++ {
				}
				i++
			}
			if i < len(f) && f[i] == '*' {
				pad += maxWidth
				i++
			} else {
				var n int
				n, i = number(i)
				pad += n
			}
			if part == 0 && i < len(f) && f[i] == '.' {
				i++
				continue
			}
			break
		}
		if i < len(f) && f[i] == '[' {
			for ; i < len(f) && f[i] != ']'; i++ {
			}
			i++
		}
		if i >= len(f) {
			break
		}
		r, size := utf8.DecodeRuneInString(f[i:])
		i += size - 1
		if r == '%' {
			continue // a literal percent sign: no argument
		}
		verbs++
		if !strings.ContainsRune(plainVerbs, r) {
			wide = true
		}
	}
	return verbs, pad, wide
}
