package upgrade

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
)

// versionLines finds the tool-version lines of generated Go code (a file
// go/ast.IsGenerated accepts): the lines after "// versions:" in the header
// comment, up to "// source:", which protoc's plugins write to name the
// tools that made the file, protoc's own version among them. Running
// `make proto` with another protoc changes them and nothing else, so an
// upgrade must not count them as the owner's change. It returns the byte
// range of those whole lines, or ok=false for a file without them.
func versionLines(path string, src []byte) (lo, hi int, ok bool) {
	if !strings.HasSuffix(path, ".go") {
		return 0, 0, false
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil || !ast.IsGenerated(f) {
		return 0, 0, false
	}
	// The end of the line c starts on, past its newline.
	lineEnd := func(c *ast.Comment) int {
		off := fset.Position(c.Slash).Offset
		if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
			return off + i + 1
		}
		return len(src)
	}
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		in := false
		for _, c := range g.List {
			switch {
			case c.Text == "// versions:":
				in, lo = true, lineEnd(c)
			case in && (strings.HasPrefix(c.Text, "// source:") || !strings.HasPrefix(c.Text, "//")):
				return lo, hi, hi > lo
			case in:
				hi = lineEnd(c)
			}
		}
		if in {
			return lo, hi, hi > lo
		}
	}
	return 0, 0, false
}

// withVersionsOf returns src with its tool-version lines replaced by
// those of from, both generated code at path; src as it is when either has
// none.
func withVersionsOf(path string, src, from []byte) []byte {
	lo, hi, ok := versionLines(path, src)
	flo, fhi, fok := versionLines(path, from)
	if !ok || !fok || hi > len(src) || fhi > len(from) {
		return src
	}
	var b bytes.Buffer
	b.Write(src[:lo])
	b.Write(from[flo:fhi])
	b.Write(src[hi:])
	return b.Bytes()
}
