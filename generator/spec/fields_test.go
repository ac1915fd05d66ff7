package spec

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// set applies key=value pairs to the defaults for "svc" through the field
// table, as flags and config files do.
func set(t *testing.T, kv ...string) (Answers, error) {
	t.Helper()
	a := Defaults("svc")
	for _, pair := range kv {
		k, v, _ := strings.Cut(pair, "=")
		f, ok := FieldByKey(k)
		if !ok {
			t.Fatalf("no field %q", k)
		}
		if err := f.Set(&a, v); err != nil {
			return a, err
		}
	}
	return a, Check(a)
}

func TestDefaultsAreValid(t *testing.T) {
	if _, err := set(t); err != nil {
		t.Fatalf("the defaults are rejected: %v", err)
	}
}

// Every field's default, applied through Set in prompt order, must equal
// Defaults(): the two ways of defaulting cannot drift apart.
func TestFieldDefaultsMatchDefaults(t *testing.T) {
	var a Answers
	for _, f := range Fields {
		v := f.Default(&a)
		if f.Key == "name" {
			v = "svc"
		}
		if err := f.Set(&a, v); err != nil {
			t.Fatalf("%s: default %q rejected: %v", f.Key, v, err)
		}
	}
	if a != Defaults("svc") {
		t.Errorf("field defaults give\n%+v\nDefaults gives\n%+v", a, Defaults("svc"))
	}
}

func TestValidation(t *testing.T) {
	for _, c := range []struct {
		in        []string
		field     string // "" means accepted
		ruleWords string // a fragment of the rule the message must name
	}{
		// name: a DNS-1035 label; it names the Deployment, Service and binary
		{[]string{"name=orders-v2"}, "", ""},
		{[]string{"name=Orders"}, "name", "DNS-1035"},
		{[]string{"name=orders_v2"}, "name", "DNS-1035"},
		{[]string{"name=-orders"}, "name", "DNS-1035"},
		{[]string{"name=1orders"}, "name", "starting with a letter"}, // a Service name, a Go and a proto package start with a letter
		{[]string{"name=../etc"}, "name", "DNS-1035"},
		{[]string{"name=a/b"}, "name", "DNS-1035"},
		{[]string{"name=" + strings.Repeat("a", 64)}, "name", "63"},
		{[]string{"name="}, "name", "required"},
		{[]string{"name=loadtest"}, "name", "reserved"},
		// module path
		{[]string{"module=github.com/acme/orders"}, "", ""},
		{[]string{"module=orders"}, "module", "missing dot"}, // module.CheckPath: a path others can fetch
		{[]string{"module=github.com/acme/orders!"}, "module", "module path"},
		{[]string{"module=/abs/path"}, "module", "module path"},
		{[]string{"module=github.com/acme/../orders"}, "module", "module path"},
		// image reference
		{[]string{"base-image=scratch"}, "", ""},
		{[]string{"base-image=alpine"}, "", ""},
		{[]string{"base-image=cgr.dev/chainguard/static:latest-glibc"}, "", ""},
		{[]string{"base-image=registry.example.com:5000/base/img@sha256:" + strings.Repeat("a", 64)}, "", ""},
		{[]string{"base-image=nginx"}, "base-image", "tag or digest"},
		{[]string{"base-image=nginx:latest"}, "base-image", "latest"},
		{[]string{"base-image=Upper:1"}, "base-image", "reference"},
		{[]string{"base-image=a b:1"}, "base-image", "reference"},
		// replica bounds
		{[]string{"replicas=1"}, "", ""},
		{[]string{"replicas=100"}, "", ""},
		{[]string{"replicas=0"}, "replicas", "1 to 100"},
		{[]string{"replicas=101"}, "replicas", "1 to 100"},
		{[]string{"replicas=three"}, "replicas", "whole number"},
		// autoscale: off, or MIN-MAX with 1 <= MIN < MAX <= 100
		{[]string{"autoscale=off"}, "", ""},
		{[]string{"autoscale=2-8"}, "", ""},
		{[]string{"autoscale=1-100"}, "", ""},
		{[]string{"autoscale=3"}, "autoscale", "MIN-MAX"},
		{[]string{"autoscale=on"}, "autoscale", "MIN-MAX"},
		{[]string{"autoscale=OFF"}, "autoscale", "MIN-MAX"},
		{[]string{"autoscale=2-"}, "autoscale", "whole numbers"},
		{[]string{"autoscale=a-b"}, "autoscale", "whole numbers"},
		{[]string{"autoscale=5-2"}, "autoscale", "MIN must not exceed MAX"},
		{[]string{"autoscale=0-3"}, "autoscale", "1 to 100"},
		{[]string{"autoscale=-1-3"}, "autoscale", "whole numbers"},
		{[]string{"autoscale=2-101"}, "autoscale", "1 to 100"},
		{[]string{"autoscale=4-4"}, "autoscale", "replicas=4"},
		// Kubernetes version
		{[]string{"k8s-version=v1.30.2"}, "", ""},
		{[]string{"k8s-version=1.22"}, "k8s-version", "supports"},
		{[]string{"k8s-version=1.38"}, "k8s-version", "supports"},
		{[]string{"k8s-version=2.0"}, "k8s-version", "version like"},
		{[]string{"k8s-version=latest"}, "k8s-version", "version like"},
		// ports
		{[]string{"port=80"}, "port", "below 1024"},
		{[]string{"port=70000"}, "port", "1024 to 65535"},
		{[]string{"port=9000", "health-port=9000"}, "health-port", "differ"},
		// protocol
		{[]string{"protocol=ftp"}, "protocol", "http or grpc"},
		{[]string{"protocol=grpc"}, "", ""},
		// timings: whole seconds, in range
		{[]string{"propagation-lag=1500ms"}, "propagation-lag", "whole number of seconds"},
		{[]string{"propagation-lag=-1s"}, "propagation-lag", "must be"},
		{[]string{"propagation-lag=10m"}, "propagation-lag", "must be"},
		{[]string{"max-request=0s"}, "max-request", "must be"},
		{[]string{"startup-time=soon"}, "startup-time", "duration"},
		{[]string{"propagation-lag=30"}, "", ""}, // a bare number is seconds
		// timings: contradictions, each naming its rule
		{[]string{"prestop=none", "drain-delay=2s"}, "drain-delay", "drain >= L"},
		{[]string{"prestop=none", "drain-delay=5s"}, "", ""},
		{[]string{"prestop=sleep", "k8s-version=1.29"}, "prestop", "1.30"},
		{[]string{"prestop=exec", "k8s-version=1.29"}, "", ""},
		{[]string{"prestop=sleep", "propagation-lag=0s"}, "prestop", "propagation-lag >= 1s"},
		{[]string{"shutdown-timeout=5s"}, "shutdown-timeout", ">= max-request"},
		{[]string{"shutdown-timeout=15s"}, "", ""},
		{[]string{"grace-period=21s"}, "grace-period", "preStop 5s + drain 2s + shutdown timeout 10s + margin 5s = 22s"},
		{[]string{"grace-period=22s"}, "", ""},
		{[]string{"prestop=bogus"}, "prestop", "auto, sleep, exec or none"},
		// description: bidirectional controls reorder what a reader sees (Trojan Source)
		{[]string{"description=café: naïve, 日本語"}, "", ""},
		{[]string{"description=admin\u202e tluafed"}, "description", "bidirectional"},
		{[]string{"description=a\u2066b\u2069"}, "description", "U+2066"},
		{[]string{"description=a\u200fb"}, "description", "bidirectional"},
		{[]string{"description=a\u061cb"}, "description", "bidirectional"},
		// telemetry: booleans; a ServiceMonitor needs metrics; the flush
		// timeout means something only with tracing
		{[]string{"metrics=false"}, "", ""},
		{[]string{"metrics=maybe"}, "metrics", "true or false"},
		{[]string{"service-monitor=true"}, "", ""},
		{[]string{"metrics=false", "service-monitor=true"}, "service-monitor", "needs metrics"},
		{[]string{"tracing=otlp"}, "", ""},
		{[]string{"tracing=jaeger"}, "tracing", "none or otlp"},
		{[]string{"tracing=otlp", "trace-flush-timeout=5s"}, "", ""},
		{[]string{"trace-flush-timeout=5s"}, "trace-flush-timeout", "only with tracing otlp"},
		{[]string{"tracing=otlp", "trace-flush-timeout=0s"}, "trace-flush-timeout", "1s to 1m0s"},
		{[]string{"tracing=otlp", "trace-flush-timeout=1500ms"}, "trace-flush-timeout", "whole number of seconds"},
		{[]string{"tracing=otlp", "grace-period=22s"}, "grace-period", "trace flush 2s"},
		// CI workflow: GitHub Actions or none
		{[]string{"ci=none"}, "", ""},
		{[]string{"ci=github"}, "", ""},
		{[]string{"ci=gitlab"}, "ci", "github or none"},
		{[]string{"ci=GitHub"}, "ci", "github or none"},
	} {
		_, err := set(t, c.in...)
		name := strings.Join(c.in, " ")
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: rejected: %v", name, err)
			}
			continue
		}
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: got %v, want an InputError for %s", name, err, c.field)
			continue
		}
		if ie.Field != c.field || !strings.Contains(ie.Error(), c.ruleWords) {
			t.Errorf("%s: got %q (field %s), want field %s and a rule mentioning %q", name, ie.Error(), ie.Field, c.field, c.ruleWords)
		}
	}
}

func TestK8sVersionIsNormalised(t *testing.T) {
	a, err := set(t, "k8s-version=v1.31.4")
	if err != nil || a.K8sVersion != "1.31" {
		t.Errorf("k8s-version v1.31.4 → %q, %v; want 1.31", a.K8sVersion, err)
	}
}

// A prompt learns of a broken rule as soon as the answer that breaks it is
// given, and only then.
func TestCheckSoFar(t *testing.T) {
	a := Defaults("svc")
	a.K8sVersion = "1.29"
	a.PreStop = PreStopSleep
	if err := CheckSoFar(a, "prestop"); err == nil || !strings.Contains(err.Error(), "1.30") {
		t.Errorf("prestop sleep on 1.29: %v", err)
	}
	if err := CheckSoFar(a, "k8s-version"); err != nil {
		t.Errorf("blamed k8s-version, asked before prestop: %v", err)
	}
	a = Defaults("svc")
	a.GracePeriod = Duration(10e9)
	if err := CheckSoFar(a, "grace-period"); err == nil {
		t.Error("a grace period shorter than the sum passed")
	}
	a = Defaults("svc")
	a.HealthPort = a.Port
	if CheckSoFar(a, "port") != nil || CheckSoFar(a, "health-port") == nil {
		t.Error("equal ports: want only health-port blamed")
	}
}

// Values in an answers file are kept as written: YAML would read 1.30 as
// the number 1.3, and yes as true.
func TestAnswersFileKeepsValuesAsWritten(t *testing.T) {
	given, err := ParseAnswersFile([]byte("name: x\nk8s-version: 1.30\ndescription: yes\nreplicas: 0x10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if given["k8s-version"] != "1.30" || given["description"] != "yes" || given["replicas"] != "0x10" {
		t.Errorf("got %v", given)
	}
	lock, err := ParseAnswersFile([]byte("generator: zdgen\nanswers:\n  name: y\n  replicas: 2\nfiles: []\n"))
	if err != nil || lock["name"] != "y" || lock["replicas"] != "2" || len(lock) != 2 {
		t.Errorf("a .zdgen.yaml: %v, %v", lock, err)
	}
	for _, bad := range []string{"- a\n- b\n", "name: [a]\n", "name:\n", "bogus: 1\n", "name: {a: 1}\n"} {
		if _, err := ParseAnswersFile([]byte(bad)); !IsInputError(err) {
			t.Errorf("%q: %v, want an InputError", bad, err)
		}
	}
}

// A key given twice, a second document or a merge key is refused, naming
// it; an alias of a single value is read as that value.
func TestAnswersFileStructure(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"name: a\nname: b\n", "name: given twice"},
		{"name: a\nreplicas: 3\nport: 9000\nreplicas: 5\n", "replicas: given twice (lines 2 and 4)"},
		{"answers:\n  name: a\n  name: b\n", "name: given twice"},
		{"answers:\n  name: a\nanswers:\n  name: b\n", "answers: given twice"},
		{"name: a\n---\nreplicas: 5\n", "more than one YAML document (the second starts at line 2)"},
		{"name: a\n...\n---\nname: b\n", "more than one YAML document"},
		{"name: a\n<<: {replicas: 3}\n", "merge keys (<<) are not supported"},
		{"name: a\nreplicas: &r {x: 1}\nport: *r\n", "replicas: want a single value"},
	} {
		_, err := ParseAnswersFile([]byte(c.in))
		if !IsInputError(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v; want an InputError saying %q", c.in, err, c.want)
		}
	}
	given, err := ParseAnswersFile([]byte("name: a\nstartup-time: &t 20s\nmax-request: *t\n"))
	if err != nil || given["max-request"] != "20s" || given["startup-time"] != "20s" {
		t.Errorf("an alias: %v, %v; want max-request 20s", given, err)
	}
}

// A default made from an earlier answer that does not fit (the module path
// from the name v1) is blamed on that answer, not on one never given.
func TestResolveBlamesTheAnswerADefaultCameFrom(t *testing.T) {
	for _, name := range []string{"v0", "v1"} {
		_, err := Resolve(map[string]string{"name": name})
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "name" || !strings.Contains(err.Error(), "example.com/"+name) || !strings.Contains(err.Error(), "module") {
			t.Errorf("%s: %v; want it blamed on name, saying the default module path it makes", name, err)
		}
	}
	if a, err := Resolve(map[string]string{"name": "v1", "module": "example.com/svc"}); err != nil || a.Name != "v1" {
		t.Errorf("v1 with a module path: %v", err)
	}
}

// Turning tracing on gives the flush timeout its default; turning it off
// clears it, so a lock never records a bound nothing uses.
func TestTracingCarriesTheFlushTimeout(t *testing.T) {
	a, err := set(t, "tracing=otlp")
	if err != nil || a.TraceFlush.String() != "2s" {
		t.Fatalf("tracing=otlp: flush %s, %v; want the default 2s", a.TraceFlush, err)
	}
	if a, err = set(t, "tracing=otlp", "trace-flush-timeout=4s", "tracing=none"); err != nil || a.TraceFlush != 0 {
		t.Errorf("tracing off again: flush %s, %v; want 0", a.TraceFlush, err)
	}
}

// A lock written before an answer existed gets that answer's default when
// read: an upgrade gives the repository what a new service gets.
func TestParseLockDefaultsMissingAnswers(t *testing.T) {
	l, err := ParseLock([]byte("generator: zdgen\nversion: 0.2.0\nanswers:\n  name: old\n  protocol: grpc\n  replicas: 2\nfiles: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults("old")
	want.Protocol, want.Replicas = ProtocolGRPC, 2
	if l.Answers != want {
		t.Errorf("answers\n%+v\nwant\n%+v", l.Answers, want)
	}
	// A repository from before the CI answer gets the workflow a new one
	// gets: its upgrade adds it.
	if l.Answers.CI != CIGitHub {
		t.Errorf("ci %q, want %q", l.Answers.CI, CIGitHub)
	}
}

// A lock written before autoscale existed has no such answer: it reads as
// off, and the recorded replicas stay the count.
func TestLockWithoutAutoscaleReadsAsOff(t *testing.T) {
	a := Defaults("svc")
	a.Replicas = 5
	p, err := NewPlan(a)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewLock("0.5.0", p, nil).File()
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(string(f.Content), "  autoscale: \"off\"\n", "", 1)
	if old == string(f.Content) {
		t.Fatalf("the lock has no autoscale line to remove:\n%s", f.Content)
	}
	l, err := ParseLock([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if l.Answers.Autoscale != AutoscaleOff || l.Answers.Replicas != 5 {
		t.Errorf("autoscale %q, replicas %d; want off and 5", l.Answers.Autoscale, l.Answers.Replicas)
	}
}

// The lock's overlay record round-trips, and one an upgrade could not
// fetch or verify is refused with what is missing.
func TestLockOverlayRecord(t *testing.T) {
	p, err := NewPlan(Defaults("svc"))
	if err != nil {
		t.Fatal(err)
	}
	p.Overlay = &Overlay{Name: "acme", Version: "v1.4.0", Module: "example.com/acme/zdgen-overlay", Dir: "../acme", Sum: "h1:abc=", Components: []string{"overlay/labels"}}
	f, err := NewLock("0.7.0", p, nil).File()
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLock(f.Content)
	if err != nil {
		t.Fatal(err)
	}
	if want := (LockOverlay{Name: "acme", Version: "v1.4.0", Module: "example.com/acme/zdgen-overlay", Dir: "../acme", Sum: "h1:abc="}); l.Overlay == nil || *l.Overlay != want {
		t.Errorf("overlay %+v, want %+v", l.Overlay, want)
	}
	for _, c := range []struct{ old, new, want string }{
		{"  sum: h1:abc=\n", "", `sum ""`},
		{"  module: example.com/acme/zdgen-overlay\n", "", ""},
		{"  version: v1.4.0\n", "", "name and version are required"},
		{"  name: acme\n", "  name: acme\n  components: [x]\n", "unknown field"},
	} {
		b := strings.Replace(string(f.Content), c.old, c.new, 1)
		if b == string(f.Content) {
			t.Fatalf("no %q in the lock", c.old)
		}
		_, err := ParseLock([]byte(b))
		if c.want == "" {
			if err != nil {
				t.Errorf("without %q: %v (a directory alone is enough)", c.old, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q -> %q: %v, want %q", c.old, c.new, err, c.want)
		}
	}
	b := strings.Replace(strings.Replace(string(f.Content), "  module: example.com/acme/zdgen-overlay\n", "", 1), "  dir: ../acme\n", "", 1)
	if _, err := ParseLock([]byte(b)); err == nil || !strings.Contains(err.Error(), "module or dir is required") {
		t.Errorf("neither module nor dir: %v", err)
	}
}

// An error repeats at most the start of a value: a value of 400 kB (an
// answer, a config key) makes a message of a line or two, not of 800 kB.
// The start is enough to recognise it; its length says why it is cut.
func TestErrorsClipLongValues(t *testing.T) {
	long := strings.Repeat("é", 200_000) // 400 kB
	for _, kv := range [][]string{
		{"module=github.com/acme/" + long},
		{"base-image=registry.acme.example/" + long},
		{"description=" + long},
		{"trace-flush-timeout=" + long, "tracing=otlp"},
		{"shutdown-timeout=" + long},
		{"k8s-version=" + long},
	} {
		_, err := set(t, kv...)
		if err == nil {
			t.Fatalf("%.40s: accepted", kv[0])
		}
		if msg := err.Error(); len(msg) > 2000 || !strings.Contains(msg, "éé") || !strings.Contains(msg, "400") {
			t.Errorf("%.40s: a message of %d bytes: %.300s", kv[0], len(msg), msg)
		}
	}
	if _, err := ParseAnswersFile([]byte(strings.Repeat("k", 400_000) + ": v\n")); err == nil || len(err.Error()) > 2000 {
		t.Errorf("an unknown key of 400 kB: a message of %d bytes", len(err.Error()))
	}
	if got := Clip("short"); got != "short" {
		t.Errorf("Clip(short) = %q", got)
	}
	if got := Clip(strings.Repeat("x", maxEcho)); got != strings.Repeat("x", maxEcho) {
		t.Error("a value of maxEcho characters was clipped")
	}
}

// The health port's default never collides with the service port: a
// person who moves the service to 8081 is proposed a health port that
// passes, not one that is refused at every Enter.
func TestHealthPortDefaultIsFree(t *testing.T) {
	for _, c := range []struct{ port, health string }{
		{"8080", "8081"},
		{"9000", "8081"},
		{"8081", "8082"},
		{"65535", "8081"},
	} {
		a, err := Resolve(map[string]string{"name": "svc", "port": c.port})
		if err != nil {
			t.Fatalf("port %s: %v", c.port, err)
		}
		if got := strconv.Itoa(a.HealthPort); got != c.health {
			t.Errorf("port %s: health port default %s, want %s", c.port, got, c.health)
		}
		if err := Check(a); err != nil {
			t.Errorf("port %s: the defaults are refused: %v", c.port, err)
		}
	}
}
