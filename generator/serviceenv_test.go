package generator

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
)

// TestEnvDefaultsAreTheServices: for both protocols, with and without
// tracing, and answers off the defaults, each variable EnvDefaults names is
// read by the rendered config package into a field whose default is the
// value EnvDefaults gives.
func TestEnvDefaultsAreTheServices(t *testing.T) {
	for _, kv := range [][]string{
		{"protocol=" + spec.ProtocolHTTP},
		{"protocol=" + spec.ProtocolGRPC},
		{"protocol=" + spec.ProtocolHTTP, "tracing=otlp", "trace-flush-timeout=3s"},
		{"protocol=" + spec.ProtocolGRPC, "tracing=otlp", "trace-flush-timeout=3s"},
	} {
		p := plan(t, append(kv, "drain-delay=3s", "max-request=12s", "shutdown-timeout=14s")...)
		protocol := fmt.Sprint(kv)
		files, err := render.Render(p)
		if err != nil {
			t.Fatal(err)
		}
		var config string
		for _, f := range files {
			if f.Path == "internal/config/config.go" {
				config = string(f.Content)
			}
		}
		if config == "" {
			t.Fatalf("%s: no internal/config/config.go rendered", protocol)
		}
		defaults := p.EnvDefaults()
		if defaults["DRAIN_DELAY"] != 3*time.Second || defaults["SHUTDOWN_TIMEOUT"] != 14*time.Second || defaults["WORK_MAX"] != 12*time.Second {
			t.Errorf("%s: EnvDefaults = %v, want the plan's 3s, 14s and 12s", protocol, defaults)
		}
		if flush, ok := defaults["TRACE_FLUSH_TIMEOUT"]; ok != (p.Answers.Tracing == spec.TracingOTLP) || ok && flush != 3*time.Second {
			t.Errorf("%s: EnvDefaults = %v, want TRACE_FLUSH_TIMEOUT 3s with tracing and none without", protocol, defaults)
		}
		for env, want := range defaults {
			read := regexp.MustCompile(fmt.Sprintf(`\{"%s", durationVar\(&c\.(\w+)\)\}`, env)).FindStringSubmatch(config)
			if read == nil {
				t.Errorf("%s: config.go does not read %s into a duration field", protocol, env)
				continue
			}
			def := regexp.MustCompile(read[1] + `:\s+(\d+) \* time\.Second,`).FindStringSubmatch(config)
			if def == nil {
				t.Errorf("%s: config.go's Defaults sets no %s in seconds", protocol, read[1])
				continue
			}
			if n, _ := strconv.Atoi(def[1]); time.Duration(n)*time.Second != want {
				t.Errorf("%s: %s (%s) defaults to %ss in config.go, EnvDefaults says %s", protocol, env, read[1], def[1], want)
			}
		}
	}
}
