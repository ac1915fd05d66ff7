package overlay

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
)

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// hostile loads minimal with one more template, templates/t.txt.tmpl.
func hostile(t *testing.T, src string) *Overlay {
	t.Helper()
	o, err := Load(newTree(t, with(map[string]string{"templates/t.txt.tmpl": src})))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// allocated runs f and returns how many bytes the process allocated
// meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// An overlay template is code zdgen runs for every service that uses it:
// whatever it does, rendering ends, promptly, without the process
// allocating what the bounds forbid, in a broken-overlay error (bad
// input, exit 2) that names the overlay, the template and the bound.
// Each case would otherwise loop for hours, crash the process out of
// memory or out of stack, or write a file of a hundred megabytes.
func TestRenderBounds(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		// Sprig functions that allocate what their arguments ask, refused
		// before they run.
		{"repeat 20 GB", `[[ repeat 2000000000 "abcdefghij" ]]`, "repeat would make"},
		{"repeat 100 MB", `[[ repeat 10000000 "abcdefghij" ]]`, "repeat would make"},
		{"until a billion", `[[ range until 1000000000 ]][[ end ]]`, "until would make"},
		{"untilStep to the end of int", `[[ untilStep 0 9223372036854775807 4611686018427387904 ]]`, "untilStep"},
		{"seq", `[[ seq 1000000000 ]]`, "seq would make"},
		{"indent", `[[ indent 1000000000 "x" ]]`, "indent would make"},
		{"nindent", `[[ nindent 100000 (repeat 100000 "\n") ]]`, "nindent would make"},
		{"replace", `[[ replace "a" (repeat 1000 "b") (repeat 100000 "a") ]]`, "replace would make"},
		{"regexReplaceAll", `[[ regexReplaceAll "a" (repeat 100000 "a") (repeat 1000 "b") ]]`, "regexReplaceAll would make"},
		{"regexReplaceAll references", `[[ regexReplaceAll "a+" (repeat 100000 "a") (repeat 100 "$0") ]]`, "regexReplaceAll would make"},
		{"wrapWith", `[[ wrapWith 1 (repeat 1000 "-") (repeat 100000 "a") ]]`, "wrapWith would make"},
		{"join", `[[ join (repeat 100000 "-") (until 60000) ]]`, "join would make"},
		{"split", `[[ split "" (repeat 1000000 "a") ]]`, "split would make"},
		{"regexSplit", `[[ regexSplit "" (repeat 1000000 "a") -1 ]]`, "regexSplit would make"},
		{"printf padding", `[[ printf "%1000000d%1000000d%1000000d" 1 2 3 ]]`, "printf would make"},
		{"html", `[[ html (repeat 1000000 "\"") ]]`, "html would make"},
		// What no single call makes too big, the bounds on values catch.
		{"doubling printf", `[[ $s := "abcdefghij" ]][[ range until 40 ]][[ $s = printf "%s%s" $s $s ]][[ end ]][[ len $s ]]`, "printf"},
		{"doubling list", `[[ $l := list 1 ]][[ range until 100 ]][[ $l = concat $l $l ]][[ end ]][[ len $l ]]`, "concat"},
		{"nested lists", `[[ $l := list ]][[ range until 1000 ]][[ $l = list $l ]][[ end ]][[ toPrettyJson $l ]]`, "nested more than 64 deep"},
		{"a dict holding itself", `[[ $d := dict ]][[ $_ := set $d "d" $d ]][[ $d ]]`, "set"},
		{"many big values", `[[ range until 1000 ]][[ $x := repeat 2000000 "a" ]][[ end ]]`, "in all"},
		// Output.
		{"a 100 MB file", `[[ $s := repeat 1000000 "a" ]][[ range until 100 ]][[ $s ]][[ end ]]`, "renders more than 1 MiB"},
		// Work that calls nothing and writes nothing; each ends at the
		// bound on steps, or on a very slow machine at the time bound.
		{"empty loop", `[[ range 100000000000 ]][[ end ]]`, "steps|still rendering"},
		{"loop writing", `[[ range 100000000000 ]]x[[ end ]]`, "steps|still rendering"},
		{"nested loops", `[[ range 100000 ]][[ range 100000 ]][[ end ]][[ end ]]`, "steps|still rendering"},
		{"recursion", `[[ define "r" ]][[ template "r" ]][[ end ]][[ template "r" ]]`, "nested more than 100 deep"},
		{"exponential recursion", `[[ define "r" ]][[ if lt (len .) 60 ]][[ template "r" (printf "%sa" .) ]][[ template "r" (printf "%sb" .) ]][[ end ]][[ end ]][[ template "r" "" ]]`, "steps|still rendering"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := hostile(t, c.src)
			var err error
			start := time.Now()
			alloc := allocated(func() { _, err = o.Render(context.Background(), plan(t, nil)) })
			// Generous: each case ends in well under a second; without
			// the bounds, most never end.
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %v", d)
			}
			if alloc > 512<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			if !spec.IsInputError(err) {
				t.Fatalf("got %v, want a broken-overlay InputError", err)
			}
			for _, w := range []string{"acme@v1.0.0", "templates/t.txt.tmpl", c.want} {
				if !containsAny(err.Error(), strings.Split(w, "|")) {
					t.Errorf("%v\nwant it to say %q", err, w)
				}
			}
			if len(err.Error()) > 1000 {
				t.Errorf("a message of %d bytes", len(err.Error()))
			}
		})
	}
}

// The bounds leave room for what an overlay does: loops, lists, JSON,
// recursion a few levels deep, a file of most of a megabyte.
func TestRenderWithinBounds(t *testing.T) {
	src := `[[ range $i := until 1000 ]][[ printf "%04d" $i ]][[ end ]]
[[ $lines := list ]][[ range until 200 ]][[ $lines = append $lines (printf "line %d" .) ]][[ end ]][[ join "\n" $lines | indent 4 ]]
[[ toPrettyJson (dict "a" (list 1 2 (dict "b" "c")) "plan" .Answers) ]]
[[ seq 5 ]] [[ regexReplaceAll "(o)" .Answers.Name "${1}0" ]] [[ replace "r" "R" .Answers.Name ]] [[ wrapWith 3 "|" "abcdefgh" ]]
[[ define "depth" ]][[ if lt . 20 ]][[ . ]],[[ template "depth" (add1 .) ]][[ end ]][[ end ]][[ template "depth" 0 ]]
[[ repeat 900000 "z" ]]
`
	files, err := hostile(t, src).Render(context.Background(), plan(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	got := string(byPath(files)["t.txt"].Content)
	for _, want := range []string{
		"000000010002", "0999\n", "    line 0\n    line 1\n", "    line 199\n", `"plan": {`, `    "name": "orders",`,
		"1 2 3 4 5 o0rders oRdeRs abc|def|gh", "0,1,2,3,", ",18,19,\n", strings.Repeat("z", 900000) + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("t.txt lacks %.80q", want)
		}
	}
}

// Rendering stops at the time bound even where each step is slow (here a
// key derivation of some 100 ms a call), naming overlay and template.
func TestRenderTimeBound(t *testing.T) {
	defer func(d time.Duration) { renderTimeout = d }(renderTimeout)
	renderTimeout = 300 * time.Millisecond
	o := hostile(t, `[[ range until 1000 ]][[ derivePassword 1 "long" "pw" "user" "example.com" ]][[ end ]]`)
	start := time.Now()
	_, err := o.Render(context.Background(), plan(t, nil))
	// Generous: the bound is 300 ms; the loop alone takes a minute and
	// more.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v", d)
	}
	if !spec.IsInputError(err) {
		t.Fatalf("got %v, want a broken-overlay InputError", err)
	}
	for _, w := range []string{"acme@v1.0.0", "templates/t.txt.tmpl", "still rendering after 300ms"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%v\nwant it to say %q", err, w)
		}
	}
}

// A cancelled context (Ctrl-C) stops rendering at once, with the
// context's error (exit 130), and the render stops working too.
func TestRenderCancelled(t *testing.T) {
	o := hostile(t, `[[ range until 1000 ]][[ derivePassword 1 "long" "pw" "user" "example.com" ]][[ end ]]`)
	p := plan(t, nil)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := o.Render(ctx, p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// Generous: the loop alone takes a minute and more.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v", d)
	}
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 300 {
			t.Fatal("the render goroutine still runs 30 s after the cancel")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := o.Render(ctx, p); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context rendered: %v", err)
	}
}

// All of an overlay's templates together render at most 8 MiB, as its
// files are read: the template that crosses the bound is named.
func TestRenderTotalOutputBound(t *testing.T) {
	files := map[string]string{}
	for i := range 9 {
		files[fmt.Sprintf("templates/t%d.txt.tmpl", i)] = `[[ repeat 1000000 "a" ]]`
	}
	o, err := Load(newTree(t, with(files)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Render(context.Background(), plan(t, nil))
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "templates/t8.txt.tmpl") || !strings.Contains(err.Error(), "more than 8 MiB") {
		t.Fatalf("got %v, want a broken-overlay InputError naming t8 and 8 MiB", err)
	}
}

// printf's worst case comes from its format: verbs, widths and
// precisions, and which verbs can make an argument longer than it is.
func TestPrintfSize(t *testing.T) {
	for _, c := range []struct {
		format          string
		args            []any
		atLeast, atMost int
	}{
		{"%s", []any{"abc"}, 3, 100},
		{"%s%s", []any{strings.Repeat("a", 1000), "b"}, 2001, 2200},
		{"%[1]s%[1]s%[1]s", []any{strings.Repeat("a", 1000)}, 3000, 3300},
		{"%q", []any{strings.Repeat("\x00", 1000)}, 4000, 4300},
		{"%10000d", []any{1}, 10000, 10200},
		{"%.10000f", []any{1e300}, 10300, 11000},
		{"%*d", []any{1000000, 1}, 1000000, 1000200},
		{"100%%", nil, 4, 10},
	} {
		args := make([]any, len(c.args))
		copy(args, c.args)
		got := printfSize(c.format, args)
		if got < c.atLeast || got > c.atMost {
			t.Errorf("printf %q %v: estimated %d, want %d to %d", c.format, fmt.Sprint(c.args...)[:min(20, len(fmt.Sprint(c.args...)))], got, c.atLeast, c.atMost)
		}
		if real := len(fmt.Sprintf(c.format, c.args...)); real > got {
			t.Errorf("printf %q: estimated %d, made %d", c.format, got, real)
		}
	}
}
