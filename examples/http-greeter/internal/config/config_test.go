package config

import (
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestDefaultsWhenUnset(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil || c != Defaults() {
		t.Fatalf("FromEnv(empty) = %+v, %v; want the defaults", c, err)
	}
}

func TestOverrides(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"PORT": "9000", "DRAIN_DELAY": "7s", "LOG_LEVEL": "debug", "MEMORY_LIMIT": "134217728"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9000 || c.DrainDelay != 7*time.Second || c.LogLevel.String() != "DEBUG" || c.MemoryLimit != 128<<20 {
		t.Errorf("got %+v", c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for k, v := range map[string]string{"PORT": "http", "HEALTH_PORT": "70000", "SHUTDOWN_TIMEOUT": "-1s", "WORK_MAX": "10", "LOG_LEVEL": "loud", "MEMORY_LIMIT": "128Mi"} {
		if _, err := FromEnv(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: error %v, want one naming %s", k, v, err, k)
		}
	}
	if _, err := FromEnv(env(map[string]string{"PORT": "9000", "HEALTH_PORT": "9000"})); err == nil {
		t.Error("PORT = HEALTH_PORT accepted")
	}
}

// zdgen's timing model bounds these settings; values outside it run, with a
// warning naming the variable (main logs them at startup).
func TestWarningsOutsideTheTimingModel(t *testing.T) {
	if w := Defaults().Warnings(); len(w) != 0 {
		t.Errorf("the defaults: %q", w)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SHUTDOWN_TIMEOUT": "2s", "WORK_MAX": "10s"}, "SHUTDOWN_TIMEOUT"},
		{map[string]string{"DRAIN_DELAY": "100h"}, "DRAIN_DELAY"},
		{map[string]string{"SHUTDOWN_TIMEOUT": "2h", "WORK_MAX": "1h"}, "SHUTDOWN_TIMEOUT"},
		{map[string]string{"SHUTDOWN_TIMEOUT": "3h", "WORK_MAX": "3h"}, "WORK_MAX"},
	} {
		cfg, err := FromEnv(env(c.env))
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, c.want) {
			t.Errorf("%v: warnings %q, want one naming %s", c.env, w, c.want)
		}
	}
}
