// Package docs holds zdgen's user guides. Its only Go file is this test,
// which keeps the documentation's links, the README's length and the
// Makefile's test target honest.
package docs

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"
)

// readmeMaxLines keeps the README a page for users; the rest belongs in
// docs/ and CONTRIBUTING.md.
const readmeMaxLines = 200

// documents lists the Markdown files whose links are checked, relative to
// the repository's root.
func documents(root fs.FS) ([]string, error) {
	guides, err := fs.Glob(root, "docs/*.md")
	if err != nil {
		return nil, err
	}
	return append([]string{"README.md", "CONTRIBUTING.md", "BENCHMARKS.md"}, guides...), nil
}

func TestLinks(t *testing.T) {
	root := os.DirFS("..")
	docs, err := documents(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 4 {
		t.Fatalf("found only %v: the test runs from the wrong directory", docs)
	}
	for _, problem := range checkLinks(root, docs) {
		t.Error(problem)
	}
}

func TestReadmeIsShort(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(lines(string(b))); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, at most %d: move the detail into a guide under docs/ (users) or CONTRIBUTING.md (contributors) and link to it", n, readmeMaxLines)
	}
}

// The Makefile's test target is the README's test command, which .ci/run
// reads from line 3 of the README's first sh block.
func TestMakeTestIsTheReadmeCommand(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := readmeTestCommand(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	got, err := recipe(string(makefile), "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("the Makefile's test recipe is %q; the README's test command is %q: keep them the same", got, want)
	}
}

// readmeTestCommand returns the second line of the README's first sh block.
func readmeTestCommand(readme string) (string, error) {
	ls := lines(readme)
	for i, l := range ls {
		if l != "```sh" {
			continue
		}
		if i+3 >= len(ls) || strings.HasPrefix(ls[i+1], "```") || strings.HasPrefix(ls[i+2], "```") {
			return "", fmt.Errorf("README.md:%d: the first sh block must hold two commands, zdgen new and the test command", i+1)
		}
		if !strings.HasPrefix(ls[i+2], "go test ") {
			return "", fmt.Errorf("README.md:%d: the first sh block's second line is %q, not a go test command (.ci/run runs it)", i+3, ls[i+2])
		}
		return ls[i+2], nil
	}
	return "", fmt.Errorf("README.md has no sh block")
}

// recipe returns the recipe lines of a Makefile's target.
func recipe(makefile, target string) ([]string, error) {
	ls := lines(makefile)
	for i, l := range ls {
		name, _, ok := strings.Cut(l, ":")
		if !ok || name != target || strings.HasPrefix(l, "\t") {
			continue
		}
		var r []string
		for _, rl := range ls[i+1:] {
			if !strings.HasPrefix(rl, "\t") {
				break
			}
			r = append(r, strings.TrimPrefix(rl, "\t"))
		}
		return r, nil
	}
	return nil, fmt.Errorf("the Makefile has no %s target", target)
}

var (
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$`)
	codeSpan   = regexp.MustCompile("(`+)[^`]*?(`+)")
	scheme     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// checkLinks reads each document and returns a line per link whose file
// does not exist or whose #anchor names no heading of its document.
func checkLinks(root fs.FS, docs []string) []string {
	var problems []string
	anchors := map[string]map[string]bool{} // by document, read once
	anchorsOf := func(doc string) (map[string]bool, error) {
		if a, ok := anchors[doc]; ok {
			return a, nil
		}
		b, err := fs.ReadFile(root, doc)
		if err != nil {
			return nil, err
		}
		a := map[string]bool{}
		for _, s := range headingSlugs(string(b)) {
			a[s] = true
		}
		anchors[doc] = a
		return a, nil
	}
	for _, doc := range docs {
		b, err := fs.ReadFile(root, doc)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, l := range links(string(b)) {
			target := l.target
			if target == "" || scheme.MatchString(target) || strings.HasPrefix(target, "//") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			where := fmt.Sprintf("%s:%d: link %q", doc, l.line, target)
			ref := doc
			if file != "" {
				if strings.HasPrefix(file, "/") {
					problems = append(problems, where+": an absolute path; link relative to the document")
					continue
				}
				ref = path.Clean(path.Join(path.Dir(doc), file))
				if strings.HasPrefix(ref, "../") || ref == ".." {
					problems = append(problems, where+": leaves the repository")
					continue
				}
				if _, err := fs.Stat(root, strings.TrimSuffix(ref, "/")); err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s does not exist", where, ref))
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(ref, ".md") {
				continue // an anchor into code or a directory is GitHub's business
			}
			a, err := anchorsOf(ref)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			if !a[anchor] {
				problems = append(problems, fmt.Sprintf("%s: %s has no heading whose anchor is #%s", where, ref, anchor))
			}
		}
	}
	return problems
}

type link struct {
	line   int
	target string
}

// links returns the targets of the inline, image and reference links of a
// Markdown document, outside fenced code blocks and code spans.
func links(doc string) []link {
	var out []link
	for _, l := range prose(doc) {
		text := codeSpan.ReplaceAllString(l.text, "")
		for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
			out = append(out, link{l.number, m[1]})
		}
		if m := refLink.FindStringSubmatch(text); m != nil {
			out = append(out, link{l.number, m[1]})
		}
	}
	return out
}

type line struct {
	number int // from 1
	text   string
}

// prose returns the lines of a Markdown document outside its fenced code
// blocks.
func prose(doc string) []line {
	var out []line
	fence := ""
	for i, l := range lines(doc) {
		if f, ok := fenceOf(l); ok {
			t := strings.TrimSpace(l)
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "":
				fence = ""
			}
			continue
		}
		if fence == "" {
			out = append(out, line{i + 1, l})
		}
	}
	return out
}

// fenceOf reports whether a line opens or closes a fenced code block, and
// its fence (``` or ~~~, at least three).
func fenceOf(l string) (string, bool) {
	t := strings.TrimLeft(l, " ")
	if len(l)-len(t) > 3 {
		return "", false
	}
	for _, c := range []string{"`", "~"} {
		n := len(t) - len(strings.TrimLeft(t, c))
		if n >= 3 {
			return strings.Repeat(c, n), true
		}
	}
	return "", false
}

var (
	headingLine = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$`)
	linkText    = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag     = regexp.MustCompile(`<[^>]+>`)
)

// headingSlugs returns the anchors GitHub gives a document's headings, in
// order: the text lower-cased, punctuation but '-' and '_' dropped, spaces
// turned into '-', and a repeated anchor suffixed -1, -2, ...
func headingSlugs(doc string) []string {
	var out []string
	seen := map[string]int{}
	for _, l := range prose(doc) {
		m := headingLine.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		base := slug(m[1])
		s := base
		if n := seen[base]; n > 0 {
			s = fmt.Sprintf("%s-%d", base, n)
		}
		seen[base]++
		out = append(out, s)
	}
	return out
}

// slug is GitHub's anchor for a heading's text.
func slug(heading string) string {
	text := linkText.ReplaceAllString(heading, "$1")
	text = htmlTag.ReplaceAllString(text, "")
	text = strings.NewReplacer("`", "", "*", "").Replace(text)
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lines splits a file into its lines, without the final newline's empty
// line.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Rehearsing a rollout: `zdgen rehearse`":     "rehearsing-a-rollout-zdgen-rehearse",
		"Autoscaling: `--autoscale MIN-MAX`":         "autoscaling---autoscale-min-max",
		"golangci-lint on the generated code":        "golangci-lint-on-the-generated-code",
		"The rehearsal's tests":                      "the-rehearsals-tests",
		"On a cluster: `zdgen rehearse --cluster`":   "on-a-cluster-zdgen-rehearse---cluster",
		"What `[[ ]]` and [links](x.md) become":      "what---and-links-become",
		"snake_case and 1.34, *emphasis*":            "snake_case-and-134-emphasis",
		"Bad input, faults and security":             "bad-input-faults-and-security",
		"Organisation overlays: `overlay.yaml` (v2)": "organisation-overlays-overlayyaml-v2",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
	got := headingSlugs("# A\n\n```sh\n# not a heading\n```\n\n## A\n### A\n## B ##\n")
	if want := []string{"a", "a-1", "a-2", "b"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("headingSlugs = %q, want %q", got, want)
	}
}

// The checker finds each kind of broken link, and passes good ones.
func TestCheckLinksFindsBrokenLinks(t *testing.T) {
	root := fstest.MapFS{
		"README.md": {Data: []byte("# Top\n\n## Two words\n\n" +
			"[ok](docs/a.md) [ok](docs/a.md#a-guide) [ok](#two-words) [ok](docs/) [ok](https://example.com/#x)\n" +
			"`[not a link](missing.md)`\n\n```\n[not a link](missing.md)\n```\n" +
			"[gone](docs/b.md)\n[bad anchor](#three-words)\n[bad anchor](docs/a.md#nothing)\n")},
		"docs/a.md": {Data: []byte("# A guide\n\n[up](../README.md#top) [out](../../x.md)\n\n[ref]: ../README.md#missing\n")},
	}
	got := checkLinks(root, []string{"README.md", "docs/a.md"})
	want := []string{
		`README.md:11: link "docs/b.md": docs/b.md does not exist`,
		`README.md:12: link "#three-words": README.md has no heading whose anchor is #three-words`,
		`README.md:13: link "docs/a.md#nothing": docs/a.md has no heading whose anchor is #nothing`,
		`docs/a.md:3: link "../../x.md": leaves the repository`,
		`docs/a.md:5: link "../README.md#missing": README.md has no heading whose anchor is #missing`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("checkLinks found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRecipeAndReadmeCommand(t *testing.T) {
	mk := "test-apiserver: ## x\n\ttest/apiserver/run.sh\n\ntest: ## y\n\tgo test ./...\n\nci:\n\t.ci/run\n"
	if r, err := recipe(mk, "test"); err != nil || strings.Join(r, ";") != "go test ./..." {
		t.Errorf("recipe(test) = %q, %v", r, err)
	}
	if _, err := recipe(mk, "bench"); err == nil {
		t.Error("recipe of a missing target: no error")
	}
	if c, err := readmeTestCommand("# x\n\n```sh\nzdgen new a\ngo test ./...\n```\n\n```sh\nother\n```\n"); err != nil || c != "go test ./..." {
		t.Errorf("readmeTestCommand = %q, %v", c, err)
	}
	if _, err := readmeTestCommand("```sh\nzdgen new a\nmake test\n```\n"); err == nil {
		t.Error("a README whose second command is not go test: no error")
	}
}
