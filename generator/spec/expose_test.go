package spec

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Each front raises the propagation lag's default, and the preStop and the
// grace period follow the lag; the derived table names the default's
// source.
func TestExposeRaisesTheLagDefault(t *testing.T) {
	for _, c := range []struct {
		protocol, expose string
		lag              int
		kind, file       string
		source           string
	}{
		{ProtocolHTTP, ExposeNone, 5, "", "", ""},
		{ProtocolHTTP, ExposeGateway, 10, "HTTPRoute", "route.yaml", "cloud.google.com/compute/docs/reference/rest/v1/healthChecks"},
		{ProtocolGRPC, ExposeGateway, 10, "GRPCRoute", "route.yaml", "cloud.google.com/compute/docs/reference/rest/v1/healthChecks"},
		{ProtocolHTTP, ExposeIngress, 30, "Ingress", "ingress.yaml", "aws-load-balancer-controller/latest/guide/ingress/annotations"},
		{ProtocolGRPC, ExposeIngress, 30, "Ingress", "ingress.yaml", "aws-load-balancer-controller/latest/guide/ingress/annotations"},
	} {
		a, err := Resolve(map[string]string{"name": "svc", "protocol": c.protocol, "expose": c.expose})
		if err != nil {
			t.Fatalf("%s %s: %v", c.protocol, c.expose, err)
		}
		if a.PropagationLag.Seconds() != c.lag {
			t.Errorf("%s %s: lag %s, want %ds", c.protocol, c.expose, a.PropagationLag, c.lag)
		}
		p, err := NewPlan(a)
		if err != nil {
			t.Fatalf("%s %s: %v", c.protocol, c.expose, err)
		}
		if p.PreStop.Seconds != c.lag {
			t.Errorf("%s %s: preStop %ds, want the lag %ds", c.protocol, c.expose, p.PreStop.Seconds, c.lag)
		}
		if want := c.lag + p.DrainDelaySeconds + p.ShutdownTimeoutSeconds + p.MarginSeconds; p.GracePeriodSeconds != want {
			t.Errorf("%s %s: grace %ds, want %ds", c.protocol, c.expose, p.GracePeriodSeconds, want)
		}
		if c.kind == "" {
			if p.Front != nil || p.Derived[0].Key != "preStop (sleep)" {
				t.Errorf("%s none: front %+v, first derived row %q: want neither a front nor a lag row", c.protocol, p.Front, p.Derived[0].Key)
			}
			continue
		}
		if p.Front == nil || p.Front.Kind != c.kind || p.Front.File != c.file || p.Front.DefaultLagSeconds != c.lag {
			t.Fatalf("%s %s: front %+v, want %s in %s with %ds", c.protocol, c.expose, p.Front, c.kind, c.file, c.lag)
		}
		row := p.Derived[0]
		if row.Key != "propagation lag L" || row.Value != a.PropagationLag.String() || !strings.Contains(row.Rule, c.source) || !strings.Contains(row.Rule, "the default behind") {
			t.Errorf("%s %s: first derived row %+v, want the lag, its default and %s", c.protocol, c.expose, row, c.source)
		}
	}
}

// A lag someone chose is kept, and the table says what the default would
// have been.
func TestExposeKeepsAChosenLag(t *testing.T) {
	a, err := Resolve(map[string]string{"name": "svc", "expose": "ingress", "propagation-lag": "12s"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(a)
	if err != nil {
		t.Fatal(err)
	}
	if p.PreStop.Seconds != 12 || !strings.Contains(p.Derived[0].Rule, "chosen; the default behind an Ingress is 30s") {
		t.Errorf("preStop %ds, lag row %q", p.PreStop.Seconds, p.Derived[0].Rule)
	}
}

func TestExposeRejectsOtherValues(t *testing.T) {
	for _, v := range []string{"loadbalancer", "Gateway", ""} {
		_, err := Resolve(map[string]string{"name": "svc", "expose": v})
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "expose" || !strings.Contains(ie.Rule, "none, gateway or ingress") {
			t.Errorf("expose=%q: %v, want an InputError naming expose and its values", v, err)
		}
	}
}

// Setting expose on complete answers moves the answers at their default
// with it, as tracing moves the flush timeout: the lag, and without a hook
// the drain that covers it. A chosen lag stays.
func TestSettingExposeMovesDefaults(t *testing.T) {
	for _, c := range []struct {
		kv          []string
		lag, drain  time.Duration
		description string
	}{
		{[]string{"expose=gateway"}, 10 * time.Second, 2 * time.Second, "the default lag follows"},
		{[]string{"expose=ingress", "expose=gateway"}, 10 * time.Second, 2 * time.Second, "from one front's default to another's"},
		{[]string{"expose=ingress", "expose=none"}, 5 * time.Second, 2 * time.Second, "back to kube-proxy's"},
		{[]string{"propagation-lag=7s", "expose=ingress"}, 7 * time.Second, 2 * time.Second, "a chosen lag stays"},
		{[]string{"prestop=none", "drain-delay=7s", "expose=ingress"}, 30 * time.Second, 32 * time.Second, "without a hook the default drain follows the lag"},
		{[]string{"prestop=none", "drain-delay=9s", "expose=gateway"}, 10 * time.Second, 9 * time.Second, "a chosen drain stays (and must cover the lag)"},
	} {
		a, _ := set(t, c.kv...)
		if a.PropagationLag.D() != c.lag || a.DrainDelay.D() != c.drain {
			t.Errorf("%v (%s): lag %s, drain %s; want %s, %s", c.kv, c.description, a.PropagationLag, a.DrainDelay, c.lag, c.drain)
		}
	}
}

// An upgrade makes the answers again from the recorded ones: a recorded lag
// that was the default of the recorded front takes the new front's
// default; one that was chosen stays. So does the drain delay of prestop
// none, whose default follows the lag.
func TestCarriedFollowsTheNewDefault(t *testing.T) {
	lag, _ := FieldByKey("propagation-lag")
	drain, _ := FieldByKey("drain-delay")
	name, _ := FieldByKey("name")
	recorded := Defaults("svc")
	now := recorded
	now.Expose = ExposeGateway
	if got := lag.Carried(&now, &recorded); got != "10s" {
		t.Errorf("recorded lag 5s (the default without a front), now gateway: %s, want 10s", got)
	}
	recorded.PropagationLag = Duration(12 * time.Second)
	if got := lag.Carried(&now, &recorded); got != "12s" {
		t.Errorf("recorded lag 12s (chosen), now gateway: %s, want 12s", got)
	}
	if got := name.Carried(&Answers{Name: "new"}, &recorded); got != "svc" {
		t.Errorf("a field that does not follow its default: %s, want the recorded svc", got)
	}

	recorded = Defaults("svc")
	recorded.PreStop, recorded.DrainDelay = PreStopNone, Duration(7*time.Second)
	now = recorded
	now.Expose, now.PropagationLag = ExposeIngress, Duration(30*time.Second)
	if got := drain.Carried(&now, &recorded); got != "32s" {
		t.Errorf("prestop none, recorded drain 7s (5s lag + 2s), lag now 30s: %s, want 32s", got)
	}
}

// A lock written before expose existed reads as expose none, its lag as
// recorded.
func TestParseLockWithoutExpose(t *testing.T) {
	l, err := ParseLock([]byte("generator: zdgen\nversion: 0.5.0\nanswers:\n  name: old\n  propagation-lag: 5s\nfiles: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Answers.Expose != ExposeNone || l.Answers.PropagationLag.Seconds() != 5 {
		t.Errorf("expose %q, lag %s; want none, 5s", l.Answers.Expose, l.Answers.PropagationLag)
	}
}
