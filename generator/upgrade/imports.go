package upgrade

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"strconv"
	"strings"

	"github.com/zdgen/zdgen/generator/spec"
)

// moveImports rewrites, in the Go file src, every import of module from or
// of a package inside it to the same package in module to. go/parser finds
// the import declarations; only their path literals change, so the rest of
// the file stays byte for byte. It returns the new source and how many
// imports moved; a file that does not parse but names the old module is an
// error, since its imports cannot be found for sure.
func moveImports(path string, src []byte, from, to string) ([]byte, int, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		if bytes.Contains(src, []byte(from)) {
			return nil, 0, err
		}
		return src, 0, nil
	}
	var out bytes.Buffer
	at, moved := 0, 0
	for _, im := range f.Imports {
		p, err := strconv.Unquote(im.Path.Value)
		if err != nil || (p != from && !strings.HasPrefix(p, from+"/")) {
			continue
		}
		lo, hi := fset.Position(im.Path.Pos()).Offset, fset.Position(im.Path.End()).Offset
		out.Write(src[at:lo])
		out.WriteString(strconv.Quote(to + strings.TrimPrefix(p, from)))
		at, moved = hi, moved+1
	}
	if moved == 0 {
		return src, 0, nil
	}
	out.Write(src[at:])
	return out.Bytes(), moved, nil
}

// MoveImports adds to an upgrade that changes the module path a Go file of
// the owner's (path slash-separated, src its content after the upgrade so
// far) that imports the old module's packages: its imports move to the new
// module, so the upgraded tree still builds. The files the lock lists are
// handled by PlanUpgrade; this is for the owner's other files. A file that
// names the old module but does not parse is refused as an InputError.
func (u *Upgrade) MoveImports(path string, src []byte) error {
	if u.ModuleFrom == u.ModuleTo || !strings.HasSuffix(path, ".go") {
		return nil
	}
	moved, n, err := moveImports(path, src, u.ModuleFrom, u.ModuleTo)
	if err != nil {
		return &spec.InputError{Field: "module", Value: u.ModuleTo, Rule: fmt.Sprintf("%s is yours and names %s, but does not parse (%v), so zdgen cannot move its imports to the new module: fix it first", path, u.ModuleFrom, err)}
	}
	if n == 0 {
		return nil
	}
	for i, c := range u.Changes {
		if c.Path != path {
			continue
		}
		if c.Outcome != Merged { // a merge says what it did already
			u.Changes[i].Outcome = ImportsMoved
		}
		u.Changes[i].New, u.Changes[i].NewExists = moved, true
		return nil
	}
	u.Changes = append(u.Changes, Change{Path: path, Outcome: ImportsMoved, Old: src, OldExists: true, New: moved, NewExists: true, Mode: 0o644})
	return nil
}
