package workload

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

// maxDockerfile bounds what is read of a Dockerfile.
const maxDockerfile = 1 << 20

// loadImage reads the Dockerfile of the repository in fsys.
func loadImage(fsys fs.FS) (*Image, error) {
	f, err := fsys.Open("Dockerfile")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDockerfile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDockerfile {
		return nil, fmt.Errorf("Dockerfile: longer than %d bytes", maxDockerfile)
	}
	img, err := ParseDockerfile(string(b))
	if err != nil {
		return nil, fmt.Errorf("Dockerfile: %w", err)
	}
	return img, nil
}

// instruction is one instruction of a Dockerfile: the line it starts on,
// its command in upper case and its arguments.
type instruction struct {
	line      int
	cmd, args string
}

var (
	directiveRe = regexp.MustCompile(`^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$`)
	heredocRe   = regexp.MustCompile(`(?:^|[^<])<<(-?)["']?([A-Za-z_][A-Za-z0-9_]*)["']?`)
)

// instructions splits a Dockerfile into its instructions: comments
// dropped (also inside a continuation), continued lines joined, heredoc
// bodies skipped.
func instructions(src string) []instruction {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	escape := `\`
	for _, l := range lines { // parser directives: only at the very top
		m := directiveRe.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") && m[2] == "`" {
			escape = "`"
		}
	}
	var out []instruction
	var cur strings.Builder
	start, continued := 0, false
	emit := func() instruction {
		continued = false
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		ins := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		out = append(out, ins)
		return ins
	}
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if !continued {
			start = i + 1
			cur.Reset()
		}
		if l := strings.TrimRight(lines[i], " \t"); strings.HasSuffix(l, escape) {
			cur.WriteString(strings.TrimSuffix(l, escape))
			cur.WriteByte(' ')
			continued = true
			continue
		}
		cur.WriteString(lines[i])
		ins := emit()
		if ins.cmd != "RUN" && ins.cmd != "COPY" && ins.cmd != "ADD" {
			continue
		}
		for _, m := range heredocRe.FindAllStringSubmatch(ins.args, -1) {
			for i++; i < len(lines); i++ {
				l := lines[i]
				if m[1] == "-" {
					l = strings.TrimLeft(l, "\t")
				}
				if l == m[2] {
					break
				}
			}
		}
	}
	if continued { // the file ends in a continued line
		emit()
	}
	return out
}

// ParseDockerfile reads what the image built from src's final stage
// holds. It reads FROM (with --platform, AS and global ARG defaults),
// COPY and ADD (with their flags, in both forms), WORKDIR and ENV PATH;
// other instructions do not change what an exec command finds.
func ParseDockerfile(src string) (*Image, error) {
	args := map[string]string{} // global ARGs, before the first FROM
	var stages []*Image
	names := map[string]*Image{}
	var img *Image
	for _, ins := range instructions(src) {
		switch ins.cmd {
		case "ARG":
			if img == nil {
				for _, f := range strings.Fields(ins.args) {
					k, v, _ := strings.Cut(f, "=")
					args[k] = unquote(v)
				}
			}
		case "FROM":
			fields := strings.Fields(ins.args)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				fields = fields[1:]
			}
			if len(fields) == 0 {
				return nil, fmt.Errorf("line %d: FROM names no image", ins.line)
			}
			ref, ok := expand(fields[0], args)
			if prev := names[strings.ToLower(ref)]; ok && prev != nil {
				img = prev.clone()
			} else {
				img = &Image{From: ref, Workdir: "/", Path: defaultPath, files: map[string]string{}, dirs: map[string]string{}}
				if ok {
					img.Kind = classify(ref)
				}
			}
			if len(fields) >= 3 && strings.EqualFold(fields[1], "AS") {
				names[strings.ToLower(fields[2])] = img
			}
			stages = append(stages, img)
		case "COPY", "ADD":
			if img == nil {
				return nil, fmt.Errorf("line %d: %s before FROM", ins.line, ins.cmd)
			}
			img.copy(ins.cmd, ins.args)
		case "WORKDIR":
			if img != nil {
				img.Workdir = img.abs(unquote(ins.args))
			}
		case "ENV":
			if img != nil {
				img.env(ins.args)
			}
		}
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return stages[len(stages)-1], nil
}

// expand applies the global ARGs' defaults to a FROM reference; false if
// it names one without a default.
func expand(s string, args map[string]string) (string, bool) {
	ok := true
	out := os.Expand(s, func(k string) string {
		name, def, hasDef := strings.Cut(k, ":-")
		if v := args[name]; v != "" {
			return v
		}
		if hasDef {
			return def
		}
		ok = false
		return ""
	})
	return out, ok && out != ""
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
