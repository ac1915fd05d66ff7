package render

import (
	"go/format"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

func TestDropUnusedImports(t *testing.T) {
	for _, c := range []struct {
		name, body string
		in, want   []string // the import block's lines
	}{
		{
			name: "nothing unused",
			body: "var _ = fmt.Sprint(http.StatusOK)",
			in:   []string{`"fmt"`, `"net/http"`},
			want: []string{`"fmt"`, `"net/http"`},
		},
		{
			name: "one of a group",
			body: "var _ = fmt.Sprint(time.Second)",
			in:   []string{`"fmt"`, `"net/http"`, `"time"`},
			want: []string{`"fmt"`, `"time"`},
		},
		{
			name: "a group in the middle emptied",
			body: "var _ = fmt.Sprint(config.X)",
			in:   []string{`"fmt"`, ``, `"google.golang.org/grpc"`, `"google.golang.org/grpc/codes"`, ``, `"example.com/m/internal/config"`},
			want: []string{`"fmt"`, ``, `"example.com/m/internal/config"`},
		},
		{
			name: "the last groups emptied",
			body: "var _ = fmt.Sprint()",
			in:   []string{`"fmt"`, ``, `"google.golang.org/grpc"`, ``, `pb "example.com/m/api/m/v1"`, `"example.com/m/internal/server"`},
			want: []string{`"fmt"`},
		},
		{
			name: "the first group emptied",
			body: "var _ = grpc.Version",
			in:   []string{`"fmt"`, ``, `"google.golang.org/grpc"`},
			want: []string{`"google.golang.org/grpc"`},
		},
		{
			name: "a local variable hides the package",
			body: "func f() { health := x(); health.Close() }",
			in:   []string{`"fmt"`, `"google.golang.org/grpc/health"`},
			want: nil,
		},
		{
			name: "every import dropped, at the end of the file",
			in:   []string{`"fmt"`, ``, `"example.com/m/internal/config"`},
		},
		{
			name: "the package used where no local hides it",
			body: "func f() { health := x(); health.Close() }\nfunc g() { _ = health.NewServer() }",
			in:   []string{`"google.golang.org/grpc/health"`},
			want: []string{`"google.golang.org/grpc/health"`},
		},
		{
			name: "a local's own initialiser still sees the package",
			body: "func f() { health := health.NewServer(); _ = health }",
			in:   []string{`"google.golang.org/grpc/health"`},
			want: []string{`"google.golang.org/grpc/health"`},
		},
		{
			name: "a parameter hides the package in the body, not in its type",
			body: "func f(http http.Handler) { http.ServeHTTP(nil, nil) }\nfunc g(status int) { _ = status.Code }",
			in:   []string{`"google.golang.org/grpc/status"`, `"net/http"`},
			want: []string{`"net/http"`},
		},
		{
			name: "scopes close",
			body: "func f() { if status := 1; status > 0 { _ = status }; for codes := range 3 { _ = codes.X }; _ = codes.OK }",
			in:   []string{`"google.golang.org/grpc/codes"`, `"google.golang.org/grpc/status"`},
			want: []string{`"google.golang.org/grpc/codes"`},
		},
		{
			name: "blank, dot and unnamed versioned imports are kept",
			body: "",
			in:   []string{`_ "embed"`, `healthpb "google.golang.org/grpc/health/grpc_health_v1"`, `"gopkg.in/yaml.v3"`, `"k8s.io/api/core/v1"`, `. "strings"`},
			want: []string{`_ "embed"`, `"gopkg.in/yaml.v3"`, `"k8s.io/api/core/v1"`, `. "strings"`},
		},
		{
			name: "named only in comments and literals",
			body: "// fmt.Println is not called.\n/* nor strings.Cut,\n strings.Fields */\nvar _ = []any{\"time.Now\", `sync.Mutex\n sort.Ints`, '\"', \"\\\"io.EOF\", fmt.Sprint}",
			in:   []string{`"fmt"`, `"io"`, `"sort"`, `"strings"`, `"sync"`, `"time"`},
			want: []string{`"fmt"`},
		},
		{
			name: "named only as a field, a method or a variable",
			body: "func f(s S) { _ = s.http.Get; _ = s.\n\t\tstrings.X; status := g(); _ = status.(error) }",
			in:   []string{`"google.golang.org/grpc/status"`, `"net/http"`, `"strings"`},
			want: nil,
		},
		{
			name: "a comment goes with its import",
			body: "var _ = fmt.Sprint(config.X)",
			in:   []string{`"fmt"`, `// for the spans`, `"go.opentelemetry.io/otel" // the API`, ``, `// the config`, `"example.com/m/internal/config"`},
			want: []string{`"fmt"`, ``, `// the config`, `"example.com/m/internal/config"`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := importFile(c.in, c.body)
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			got := string(dropUnusedImports(fset, f, []byte(src)))
			if want := importFile(c.want, c.body); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if formatted, err := format.Source([]byte(got)); err != nil || string(formatted) != got {
				t.Errorf("not gofmt-clean (%v):\n%s", err, got)
			}
		})
	}
}

// importFile is a Go file with the given import block lines (none: no
// block) and body.
func importFile(imports []string, body string) string {
	var b strings.Builder
	b.WriteString("// Package x is a test.\npackage x\n")
	if len(imports) > 0 {
		b.WriteString("\nimport (\n")
		for _, l := range imports {
			if l != "" {
				b.WriteString("\t" + l)
			}
			b.WriteString("\n")
		}
		b.WriteString(")\n")
	}
	if body != "" {
		body, _ := format.Source([]byte("package x\n\n" + body + "\n"))
		b.WriteString("\n" + strings.TrimPrefix(string(body), "package x\n\n"))
	}
	return b.String()
}
