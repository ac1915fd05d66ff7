package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
)

// Image is what the service's container image holds, as far as the
// rehearsal can tell from the repository's Dockerfile: the final stage's
// base image, the files the Dockerfile copies into it, its working
// directory and PATH. Exec hooks and probes run in the image, so the
// rehearsal runs one only when its command would exist there.
type Image struct {
	From    string   // the final stage's base image, ARG defaults applied (an earlier stage's name resolved)
	Kind    string   // scratch, distroless, alpine, debian-slim or debian; "" for a base the rehearsal does not model
	Workdir string   // WORKDIR, for relative paths
	Path    []string // the directories PATH names

	files  map[string]string // a path in the image -> the source the Dockerfile copies there
	dirs   map[string]string // a directory copied in with contents the Dockerfile does not name -> its source
	copied []string          // the destinations, as the Dockerfile writes them, for messages
}

// defaultPath is the PATH a container gets when its image sets none, and
// the one alpine, debian and distroless images set.
var defaultPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// bases are the base images the rehearsal models: what each ships that an
// exec command could run. Commands are listed by name, with the
// directories they are in.
var bases = map[string]struct {
	what     string   // what it has, for messages
	dirs     []string // where the commands are
	commands []string
	shells   []string // the commands that are shells
}{
	"scratch":    {what: "nothing: no shell and no coreutils"},
	"distroless": {what: "no shell and no coreutils"},
	// busybox's applets, as alpine installs them (/bin and /usr/bin).
	"alpine": {what: "busybox (/bin/sh, sleep and the common applets)", dirs: []string{"/bin", "/usr/bin"},
		commands: strings.Fields(`sh ash busybox sleep usleep cat echo true false kill ls mkdir rm rmdir cp mv ln
			date dd df grep egrep fgrep sed ps pwd touch sync uname stat printenv pidof netstat ping hostname
			chmod chown tar gzip gunzip zcat mktemp nice more watch env test [ [[ wget nc head tail timeout
			tr wc xargs yes which id whoami seq sort uniq cut expr awk basename dirname find printf tee
			sha256sum md5sum du free uptime time less nslookup nohup pgrep pkill killall readlink realpath`),
		shells: []string{"sh", "ash"}},
	// dash as /bin/sh, bash and coreutils; /bin is /usr/bin (merged /usr).
	"debian": {what: "/bin/sh (dash), bash and coreutils", dirs: []string{"/bin", "/usr/bin"},
		commands: strings.Fields(`sh dash bash sleep cat echo true false ls mkdir rm rmdir cp mv ln date dd df
			grep egrep fgrep sed pwd touch sync uname stat printenv chmod chown tar gzip gunzip zcat mktemp
			nice env test [ head tail timeout tr wc xargs yes id whoami seq sort uniq cut expr basename dirname
			find printf tee sha256sum md5sum du nohup readlink realpath hostname`),
		shells: []string{"sh", "dash", "bash"}},
}

func baseOf(kind string) string {
	if kind == "debian-slim" {
		return "debian"
	}
	return kind
}

// classify tells which modelled base an image reference is; "" for one
// the rehearsal does not model (its contents are unknown).
func classify(ref string) string {
	if strings.EqualFold(ref, "scratch") {
		return "scratch"
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	name, tag := reference.FamiliarName(named), ""
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	switch {
	case name == "alpine":
		return "alpine"
	case name == "debian" && strings.Contains(tag, "slim"):
		return "debian-slim"
	case name == "debian":
		return "debian"
	case strings.HasPrefix(name, "gcr.io/distroless/") && !strings.Contains(tag, "debug"): // :debug has a busybox shell
		img := strings.TrimPrefix(name, "gcr.io/distroless/")
		if strings.HasPrefix(img, "static") || strings.HasPrefix(img, "base") || strings.HasPrefix(img, "cc") {
			return "distroless"
		}
	}
	return ""
}

func (img *Image) clone() *Image {
	c := *img
	c.files, c.dirs = map[string]string{}, map[string]string{}
	for k, v := range img.files {
		c.files[k] = v
	}
	for k, v := range img.dirs {
		c.dirs[k] = v
	}
	c.Path = slices.Clone(img.Path)
	c.copied = slices.Clone(img.copied)
	return &c
}

func (img *Image) abs(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(img.Workdir, p)
}

// archiveRe is a source ADD unpacks.
var archiveRe = regexp.MustCompile(`\.(tar|tgz|tar\.\w+)$`)

// copy records a COPY or ADD: each source lands at the destination, or in
// it when it is a directory (a trailing slash, several sources). A source
// that is a directory, a glob or an archive brings in files the
// Dockerfile does not name.
func (img *Image) copy(cmd, args string) {
	for strings.HasPrefix(args, "--") { // --from, --chown, --chmod, --link, ...
		i := strings.IndexAny(args, " \t")
		if i < 0 {
			return
		}
		args = strings.TrimSpace(args[i:])
	}
	var items []string
	if !strings.HasPrefix(args, "[") || json.Unmarshal([]byte(args), &items) != nil {
		items = strings.Fields(args) // not the JSON form
	}
	if len(items) < 2 {
		return
	}
	srcs, dest := items[:len(items)-1], items[len(items)-1]
	intoDir := len(srcs) > 1 || strings.HasSuffix(dest, "/") || path.Base(dest) == "."
	dest = img.abs(dest)
	img.copied = append(img.copied, dest)
	for _, src := range srcs {
		archive := cmd == "ADD" && archiveRe.MatchString(src) // ADD unpacks it
		if strings.HasSuffix(src, "/") || path.Base(src) == "." || strings.ContainsAny(src, "*?[") || archive {
			img.dirs[dest] = src
			continue
		}
		target := dest
		if intoDir {
			target = path.Join(dest, path.Base(src))
		}
		img.files[target] = src
		img.dirs[target] = src // in case the source is a directory
	}
}

// env records ENV PATH, in both forms (PATH=value ..., PATH value).
func (img *Image) env(args string) {
	set := func(v string) {
		old := strings.Join(img.Path, ":")
		v = strings.NewReplacer("${PATH}", old, "$PATH", old).Replace(unquote(v))
		img.Path = strings.Split(v, ":")
	}
	first, rest, _ := strings.Cut(args, " ")
	if !strings.Contains(first, "=") {
		if first == "PATH" {
			set(strings.TrimSpace(rest))
		}
		return
	}
	for _, f := range strings.Fields(args) {
		if k, v, ok := strings.Cut(f, "="); ok && k == "PATH" {
			set(v)
		}
	}
}

// dirHolding is the innermost directory copied in whole that p is in; ""
// if none.
func (img *Image) dirHolding(p string) string {
	best := ""
	for dir := range img.dirs {
		if strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") && len(dir) > len(best) {
			best = dir
		}
	}
	return best
}

// ships reports whether the modelled base has a command at p.
func (img *Image) ships(p string) bool {
	b, ok := bases[baseOf(img.Kind)]
	return ok && slices.Contains(b.dirs, path.Dir(p)) && slices.Contains(b.commands, path.Base(p))
}

// describe is a modelled image for an error message: its base and what
// the Dockerfile copies in.
func (img *Image) describe() string {
	copies := img.copies()
	base := img.From
	if img.Kind != img.From {
		base += " (" + img.Kind + ")"
	}
	return fmt.Sprintf("its base %s has %s, and %s", base, bases[baseOf(img.Kind)].what, copies)
}

func (img *Image) copies() string {
	switch len(img.copied) {
	case 0:
		return "the Dockerfile copies in nothing"
	case 1:
		return "the Dockerfile copies in only " + img.copied[0]
	}
	return "the Dockerfile copies in " + strings.Join(img.copied, ", ")
}

// servicePath is where the Dockerfile puts the service's binary; "" if
// it names no such file.
func (img *Image) servicePath(name string) string {
	var paths []string
	for p, src := range img.files {
		if path.Base(p) == name || path.Base(src) == name {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	if len(paths) == 0 {
		return ""
	}
	return paths[0]
}

// Command is how a rehearsal runs a command written for the image, once
// the command is judged to exist there.
type Command struct {
	Service bool          // argv[0] is the service's binary: the built one runs
	Host    string        // otherwise the program on this machine standing in for the image's
	PreStop time.Duration // how long it takes as a preStop hook, as far as it can be read
}

// notModelled is a command whose existence in the image the rehearsal
// cannot tell.
type notModelled struct{ msg string }

func (e *notModelled) Error() string { return "not modelled: " + e.msg }

// command judges argv against the image: it runs in the rehearsal only
// if it would exist in the image. name is the service's; envPath the
// container's PATH, if its manifest sets one.
func (img *Image) command(name string, argv []string, envPath string) (Command, error) {
	if len(argv) == 0 || argv[0] == "" {
		return Command{}, errors.New("an empty command")
	}
	var candidates []string
	if strings.Contains(argv[0], "/") {
		candidates = []string{img.abs(argv[0])}
	} else {
		dirs := img.Path
		if envPath != "" {
			dirs = strings.Split(envPath, ":")
		}
		for _, d := range dirs {
			if path.IsAbs(d) {
				candidates = append(candidates, path.Join(d, argv[0]))
			}
		}
	}
	for _, p := range candidates {
		if src, ok := img.files[p]; ok {
			if path.Base(p) == name || path.Base(src) == name {
				return Command{Service: true, PreStop: serviceSleep(argv)}, nil
			}
			return Command{}, &notModelled{fmt.Sprintf("%s is %s, which the Dockerfile copies in; zdgen rehearse builds and runs only the service's binary", p, src)}
		}
		if dir := img.dirHolding(p); dir != "" {
			if path.Base(p) == name {
				return Command{Service: true, PreStop: serviceSleep(argv)}, nil
			}
			return Command{}, &notModelled{fmt.Sprintf("%s may be among the files the Dockerfile copies into %s (from %s); zdgen cannot tell", p, dir, img.dirs[dir])}
		}
		if img.ships(p) {
			return hostCommand(path.Base(p), slices.Contains(bases[baseOf(img.Kind)].shells, path.Base(p)), argv)
		}
	}
	if img.Kind == "" {
		return Command{}, &notModelled{fmt.Sprintf("zdgen does not know what base image %s contains, so it cannot tell whether %s is in the image (%s)", img.From, argv[0], img.copies())}
	}
	return Command{}, fmt.Errorf("%s is not in the image: %s", argv[0], img.describe())
}

// hostCommand is a command the base image ships, run with this machine's
// program of the same name: a shell with -c runs its script with the
// host's sh (bash for bash); its sleeps are the hook's length.
func hostCommand(base string, isShell bool, argv []string) (Command, error) {
	ec := Command{Host: base}
	if isShell {
		if len(argv) < 3 || !strings.HasPrefix(argv[1], "-") || !strings.HasSuffix(argv[1], "c") {
			return Command{}, &notModelled{fmt.Sprintf("%s runs in the image, but zdgen rehearse runs a shell only as %s -c SCRIPT", argv[0], argv[0])}
		}
		ec.Host = "sh"
		if base == "bash" {
			ec.Host = "bash"
		}
		ec.PreStop = scriptSleeps(argv[2])
	} else if base == "sleep" {
		ec.PreStop = sleepArgs(argv[1:])
	}
	p, err := exec.LookPath(ec.Host)
	if err != nil {
		return Command{}, fmt.Errorf("%s is in the image, but this machine has no %s to rehearse it with", argv[0], ec.Host)
	}
	ec.Host = p
	return ec, nil
}

// serviceSleep is how long the service's "NAME sleep DURATION" takes: it
// reads DURATION with time.ParseDuration and fails at once on anything
// else.
func serviceSleep(argv []string) time.Duration {
	if len(argv) != 3 || argv[1] != "sleep" {
		return 0
	}
	if d, err := time.ParseDuration(argv[2]); err == nil && d > 0 {
		return d
	}
	return 0
}

var sleepArgRe = regexp.MustCompile(`^(\d+\.?\d*|\.\d+)([smhd]?)$`)

// sleepArgs is how long sleep ARGS takes, as coreutils' and busybox's
// sleep read them (numbers with an optional s, m, h or d, added up); 0 if
// one does not parse (the command fails at once).
func sleepArgs(args []string) time.Duration {
	var total float64
	for _, a := range args {
		m := sleepArgRe.FindStringSubmatch(a)
		if m == nil {
			return 0
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0
		}
		total += n * map[string]float64{"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
	}
	if d := total * float64(time.Second); d < math.MaxInt64 {
		return time.Duration(d)
	}
	return 0
}

var scriptSleepRe = regexp.MustCompile(`(?:^|[\s;&|(])sleep((?:\s+[0-9.]+[smhd]?)+)(?:$|[\s;&|)])`)

// scriptSleeps is how long the sleeps a shell script runs take, added up.
func scriptSleeps(script string) time.Duration {
	var total time.Duration
	for _, m := range scriptSleepRe.FindAllStringSubmatch(script, -1) {
		total += sleepArgs(strings.Fields(m[1]))
	}
	return total
}
