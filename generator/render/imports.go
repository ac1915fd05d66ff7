package render

import (
	"bytes"
	"go/ast"
	"go/token"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// pruneMark, in a Go template, says that its import block lists every
// import any answer set needs, unconditionally, and that the renderer drops
// the ones the rendered file does not use. A template written
//
//	import ( [[- /* unused imports are dropped */]]
//
// reads as the Go it produces rather than as a second program choosing
// imports. Templates without the mark (and so every frozen release) are
// rendered as they are written.
const pruneMark = "/* unused imports are dropped */"

// dropUnusedImports returns src without the imports that no code in f,
// its parse, refers to; it edits src in place. It removes whole lines of a
// parenthesised import block, then the blank line of a group left empty (a
// block left empty goes whole), so that output that was gofmt-clean with
// the import written out stays so without it.
//
// An import is dropped only when its name is known: given in the spec, or
// the last element of a path that is an identifier and not a major
// version; "gopkg.in/yaml.v3" or ".../v2" must be named to be dropped, and
// so must a package whose name is not its path's last element. Blank and
// dot imports are kept. Only this file is read: a package-level name of
// another file of the package, written as a qualifier here, would keep an
// import of that name.
//
// It costs no second parse and no walk of the parse: a lexical pass over
// the text finds the names, and the parse is asked only about a name also
// written as something else than a package (see usedPackages).
func dropUnusedImports(fset *token.FileSet, f *ast.File, src []byte) []byte {
	tf := fset.File(f.Package)
	var names []string // each once
	code := 0          // where the code after the imports begins
	for _, imp := range f.Imports {
		code = max(code, tf.Offset(imp.End()))
		if n := importName(imp); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	used := usedPackages(f, tf, src, code, names)
	if !slices.Contains(used, false) {
		return src
	}
	unused := map[*ast.ImportSpec]bool{}
	for _, imp := range f.Imports {
		if i := slices.Index(names, importName(imp)); i >= 0 && !used[i] {
			unused[imp] = true
		}
	}
	lineStart := func(off int) int { return bytes.LastIndexByte(src[:off], '\n') + 1 }
	nextLine := func(off int) int { return off + bytes.IndexByte(src[off:], '\n') + 1 }
	out := src[:0] // src[:done] is in out; out never passes done
	done := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.IMPORT || !g.Lparen.IsValid() {
			continue
		}
		// The lines between the parentheses, and those of unused specs
		// (with their "//" doc lines: f was parsed without comments).
		first, end := nextLine(tf.Offset(g.Lparen)), lineStart(tf.Offset(g.Rparen))
		if tf.Offset(g.Specs[0].Pos()) < first || tf.Offset(g.Specs[len(g.Specs)-1].End()) > end {
			continue // a spec shares a line with a parenthesis
		}
		var drop [][2]int
		for _, s := range g.Specs {
			if imp := s.(*ast.ImportSpec); unused[imp] {
				from := lineStart(tf.Offset(imp.Pos()))
				for from > first {
					prev := lineStart(from - 1)
					if !bytes.HasPrefix(bytes.TrimLeft(src[prev:from], " \t"), []byte("//")) {
						break
					}
					from = prev
				}
				drop = append(drop, [2]int{from, nextLine(tf.Offset(imp.End()))})
			}
		}
		if drop == nil {
			continue
		}
		start, prev := len(out), done
		out = append(out, src[done:first]...)
		kept, blank := false, false
		for l := first; l < end; {
			next := nextLine(l)
			switch {
			case len(drop) > 0 && l >= drop[0][0]:
				next = drop[0][1]
				drop = drop[1:]
			case next-l == 1: // a blank line: a group ends
				blank = kept
			default:
				if blank {
					out = append(out, '\n')
					blank = false
				}
				out = append(out, src[l:next]...)
				kept = true
			}
			l = next
		}
		done = end
		if kept {
			continue
		}
		// Every import dropped: the declaration goes, with a blank line
		// that separated it (the one after it, else the one before).
		from, to := lineStart(tf.Offset(g.Pos())), nextLine(tf.Offset(g.Rparen))
		switch {
		case to < len(src) && src[to] == '\n':
			to++
		case from > 1 && src[from-2] == '\n':
			from--
		}
		out = append(out[:start], src[prev:from]...)
		done = to
	}
	return append(out, src[done:]...)
}

// importName is the name an import is referred to by in the file, or ""
// when it cannot be told from the spec (or the import is blank or dot).
func importName(imp *ast.ImportSpec) string {
	if imp.Name != nil {
		if imp.Name.Name == "_" || imp.Name.Name == "." {
			return ""
		}
		return imp.Name.Name
	}
	// The path as written: a name with escapes or odd bytes in it is not
	// an identifier.
	n := path.Base(strings.Trim(imp.Path.Value, "`\""))
	if !token.IsIdentifier(n) || isMajorVersion(n) {
		return ""
	}
	return n
}

// isMajorVersion reports whether a path element names a module's major
// version rather than its package ("v2").
func isMajorVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// usedPackages reports which of names the code of f, from byte code of
// its source src on, uses as package names. A lexical pass (scanCode)
// settles most names: one the code never writes as "name." is unused, one
// it writes only so is used. A name the code also writes otherwise (a
// local variable health beside package health) is asked of the parse, at
// each "name." until one is the package's.
func usedPackages(f *ast.File, tf *token.File, src []byte, code int, names []string) []bool {
	qual, other := scanCode(src, code, names)
	used := make([]bool, len(names))
	unsure := 0
	for k := range names {
		used[k] = qual[k] && !other[k]
		if qual[k] && other[k] {
			unsure++
		}
	}
	q := qualifier{file: f}
	for i := code; unsure > 0; {
		j := bytes.IndexByte(src[i:], '.')
		if j < 0 {
			break
		}
		dot := i + j
		i = dot + 1
		start := dot
		for start > code && isIdentByte(src[start-1]) {
			start--
		}
		k := nameIndex(names, src[start:dot])
		if k < 0 || used[k] || !qual[k] || !other[k] || src[start-1] == '.' {
			continue
		}
		if q.qualifies(tf.Pos(start), names[k]) {
			used[k] = true
			unsure--
		}
	}
	return used
}

// scanCode reads src from byte code on as Go's scanner would, skipping
// comments and literals, and reports for each of names whether the code
// writes it as a qualifier ("name.X") and whether it writes it otherwise
// (a declaration of a local variable, its use, a field or a label named
// so). A name after a dot (x.name) is neither: a field or method.
func scanCode(src []byte, code int, names []string) (qual, other []bool) {
	both := make([]bool, 2*len(names))
	qual, other = both[:len(names)], both[len(names):]
	// first[c] and last[c] have bit n%64 set when a name of n bytes starts
	// or ends with c: most words are not looked up.
	var first, last [256]uint64
	for _, n := range names {
		first[n[0]] |= 1 << (len(n) % 64)
		last[n[len(n)-1]] |= 1 << (len(n) % 64)
	}
	for i := code; i < len(src); {
		switch c := src[i]; lexClass[c] {
		case lexWord:
			j := i + 1
			for j < len(src) && lexClass[src[j]] == lexWord {
				j++
			}
			if bit := uint64(1) << ((j - i) % 64); first[c]&bit != 0 && last[src[j-1]]&bit != 0 && !afterDot(src, i) {
				if k := nameIndex(names, src[i:j]); k >= 0 {
					if j+1 < len(src) && src[j] == '.' && src[j+1] != '(' {
						qual[k] = true
					} else {
						other[k] = true
					}
				}
			}
			i = j
		case lexSlash:
			switch {
			case i+1 < len(src) && src[i+1] == '/':
				i = skipPast(src, i+2, "\n")
			case i+1 < len(src) && src[i+1] == '*':
				i = skipPast(src, i+2, "*/")
			default:
				i++
			}
		case lexRaw:
			i = skipPast(src, i+1, "`")
		case lexQuote:
			for i++; i < len(src) && src[i] != c && src[i] != '\n'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
			i++
		default:
			i++
		}
	}
	return qual, other
}

// nameIndex is slices.Index(names, string(w)), without the string.
func nameIndex(names []string, w []byte) int {
	for k, n := range names {
		if string(w) == n {
			return k
		}
	}
	return -1
}

// skipPast returns the index just past the first end in src from i on,
// or len(src).
func skipPast(src []byte, i int, end string) int {
	if j := bytes.Index(src[i:], []byte(end)); j >= 0 {
		return i + j + len(end)
	}
	return len(src)
}

// lexClass sorts the bytes scanCode tells apart.
var lexClass = func() (t [256]byte) {
	for c := range 256 {
		if isIdentByte(byte(c)) {
			t[c] = lexWord
		}
	}
	t['/'], t['`'], t['"'], t['\''] = lexSlash, lexRaw, lexQuote, lexQuote
	return t
}()

const (
	lexOther = iota
	lexWord  // a byte of an identifier, keyword or number
	lexSlash // perhaps a comment
	lexRaw   // a raw string begins
	lexQuote // an interpreted string or a rune begins
)

// afterDot reports whether the word at src[i] follows a dot (x.name, or
// x.\n\tname in a chain broken after the dot).
func afterDot(src []byte, i int) bool {
	for i--; i >= 0; i-- {
		switch src[i] {
		case ' ', '\t', '\n':
			continue
		case '.':
			return true
		}
		return false
	}
	return false
}

// isIdentByte reports whether b can be part of an identifier (any byte of
// a multi-byte rune counts: only ASCII names are looked for).
func isIdentByte(b byte) bool {
	return b == '_' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b >= utf8.RuneSelf
}

// qualifier asks the parse of a file about a name at a position.
type qualifier struct {
	file *ast.File
	// The child search's state (an ast.Visitor, reused).
	pos           token.Pos
	parent, child ast.Node
}

// qualifies reports whether the identifier name at pos is the package
// qualifier of a selector (not text in a comment or string, not a local
// variable's name). It follows the parse down to pos only, noting on the
// way the declarations of name that hide the package there.
func (q *qualifier) qualifies(pos token.Pos, name string) bool {
	hidden := false
	var n ast.Node = q.file
	for n != nil {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Pos() == pos {
				return !hidden
			}
		case *ast.FuncDecl:
			hidden = hidden || in(n.Body, pos) && (declares(n.Recv, name) || declares(n.Type.Params, name) || declares(n.Type.Results, name))
		case *ast.FuncLit:
			hidden = hidden || in(n.Body, pos) && (declares(n.Type.Params, name) || declares(n.Type.Results, name))
		case *ast.BlockStmt:
			hidden = hidden || definedBefore(n.List, pos, name)
		case *ast.CaseClause:
			hidden = hidden || definedBefore(n.Body, pos, name)
		case *ast.CommClause:
			hidden = hidden || definedBefore(n.Body, pos, name) || definedBefore([]ast.Stmt{n.Comm}, pos, name)
		case *ast.IfStmt:
			hidden = hidden || definedBefore([]ast.Stmt{n.Init}, pos, name)
		case *ast.ForStmt:
			hidden = hidden || definedBefore([]ast.Stmt{n.Init}, pos, name)
		case *ast.SwitchStmt:
			hidden = hidden || definedBefore([]ast.Stmt{n.Init}, pos, name)
		case *ast.TypeSwitchStmt:
			hidden = hidden || definedBefore([]ast.Stmt{n.Init, n.Assign}, pos, name)
		case *ast.RangeStmt:
			hidden = hidden || n.Tok == token.DEFINE && in(n.Body, pos) && (isIdent(n.Key, name) || isIdent(n.Value, name))
		}
		n = q.childAt(n, pos)
	}
	return false
}

// childAt returns the child of n whose source holds pos, or nil.
func (q *qualifier) childAt(n ast.Node, pos token.Pos) ast.Node {
	// The long lists are searched by position.
	switch n := n.(type) {
	case *ast.File:
		if i := sort.Search(len(n.Decls), func(i int) bool { return n.Decls[i].End() > pos }); i < len(n.Decls) && n.Decls[i].Pos() <= pos {
			return n.Decls[i]
		}
		return nil
	case *ast.BlockStmt:
		if i := sort.Search(len(n.List), func(i int) bool { return n.List[i].End() > pos }); i < len(n.List) && n.List[i].Pos() <= pos {
			return n.List[i]
		}
		return nil
	}
	q.pos, q.parent, q.child = pos, n, nil
	ast.Walk(q, n)
	return q.child
}

// Visit is childAt's visitor: it looks at n's children, not deeper.
func (q *qualifier) Visit(n ast.Node) ast.Visitor {
	if n == q.parent {
		return q
	}
	if n != nil && q.child == nil && n.Pos() <= q.pos && q.pos < n.End() {
		q.child = n
	}
	return nil
}

// in reports whether pos is inside b.
func in(b *ast.BlockStmt, pos token.Pos) bool { return b != nil && b.Pos() <= pos && pos < b.End() }

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// declares reports whether a parameter list declares name.
func declares(fl *ast.FieldList, name string) bool {
	if fl == nil {
		return false
	}
	for _, f := range fl.List {
		for _, n := range f.Names {
			if n.Name == name {
				return true
			}
		}
	}
	return false
}

// definedBefore reports whether a statement of list (nil ones skipped)
// that ends before pos declares name.
func definedBefore(list []ast.Stmt, pos token.Pos, name string) bool {
	for _, s := range list {
		if s == nil {
			continue
		}
		if s.End() > pos {
			break
		}
		if defines(s, name) {
			return true
		}
	}
	return false
}

// defines reports whether statement s declares name in the scope it is in.
func defines(s ast.Stmt, name string) bool {
	switch s := s.(type) {
	case *ast.AssignStmt:
		if s.Tok == token.DEFINE {
			for _, e := range s.Lhs {
				if isIdent(e, name) {
					return true
				}
			}
		}
	case *ast.DeclStmt:
		for _, spec := range s.Decl.(*ast.GenDecl).Specs {
			switch spec := spec.(type) {
			case *ast.ValueSpec:
				for _, n := range spec.Names {
					if n.Name == name {
						return true
					}
				}
			case *ast.TypeSpec:
				if spec.Name.Name == name {
					return true
				}
			}
		}
	case *ast.LabeledStmt:
		return defines(s.Stmt, name)
	}
	return false
}
