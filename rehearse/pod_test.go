package rehearse

import (
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/workload"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestMain lets the test binary stand in for a service: with
// REHEARSE_TEST_POD set it listens on PORT and handles SIGTERM as the
// variable says.
func TestMain(m *testing.M) {
	if mode := os.Getenv("REHEARSE_TEST_POD"); mode != "" {
		os.Exit(helperPod(mode))
	}
	os.Exit(m.Run())
}

func helperPod(mode string) int {
	// The handler first, then the listener: once the readiness probe
	// connects, a SIGTERM is handled as the mode says.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		return 1
	}
	defer ln.Close()
	<-term
	if mode == "ignore-term" {
		select {} // only SIGKILL ends it
	}
	return 0
}

func testKubelet(t *testing.T, mode string, preStop int64, naive bool) *kubelet {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := &workload.Workload{
		Answers: spec.Answers{Name: "helper"},
		Grace:   2 * time.Second,
		Container: corev1.Container{
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}, {ContainerPort: 8081}},
			Env:   []corev1.EnvVar{{Name: "PORT", Value: "8080"}, {Name: "HEALTH_PORT", Value: "8081"}, {Name: "REHEARSE_TEST_POD", Value: mode}},
			ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
				TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)},
			}},
			Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
				Sleep: &corev1.SleepAction{Seconds: preStop},
			}},
		},
	}
	return &kubelet{w: w, binary: self, naive: naive, tl: newTimeline(nil), onChange: func() {}}
}

// terminate starts a pod, waits until it is ready, deletes it and returns
// the kinds of its termination events, in order.
func terminate(t *testing.T, k *kubelet) []string {
	t.Helper()
	p := newPod(k, "p", 1)
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !p.state(time.Now(), 0).Ready {
		if time.Now().After(deadline) {
			p.kill()
			t.Fatal("the pod never became ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Delete()
	// Endpoint removal starts with the deletion, not after preStop.
	if eps := endpointAddrs([]podView{p.state(time.Now(), 0)}); len(eps) != 0 {
		t.Errorf("a deleted pod is still an endpoint: %v", eps)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatal("the pod did not terminate within 30s")
	}
	var kinds []string
	for _, e := range k.tl.events() {
		if slices.Contains([]string{EvTerminating, EvPreStop, EvSIGTERM, EvSIGKILL, EvExited}, e.Kind) {
			kinds = append(kinds, e.Kind)
		}
	}
	return kinds
}

func TestTerminationOrder(t *testing.T) {
	t.Parallel()
	k := testKubelet(t, "exit-on-term", 1, false)
	got := terminate(t, k)
	if want := []string{EvTerminating, EvPreStop, EvSIGTERM, EvExited}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if p := k.tl.problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
}

func TestTerminationKillsAtTheGraceDeadline(t *testing.T) {
	t.Parallel()
	k := testKubelet(t, "ignore-term", 1, false)
	got := terminate(t, k)
	if want := []string{EvTerminating, EvPreStop, EvSIGTERM, EvSIGKILL, EvExited}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if p := k.tl.problems(); len(p) != 1 || !strings.Contains(p[0], "SIGKILL") {
		t.Errorf("problems %v, want the SIGKILL", p)
	}
}

func TestPreStopOverrunningTheGracePeriod(t *testing.T) {
	t.Parallel()
	k := testKubelet(t, "ignore-term", 60, false) // a hook far longer than the 2 s grace
	got := terminate(t, k)
	if want := []string{EvTerminating, EvPreStop, EvSIGTERM, EvSIGKILL, EvExited}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	for _, e := range k.tl.events() {
		if e.Kind == EvPreStop && !strings.Contains(e.Detail, "cut off at the grace deadline") {
			t.Errorf("preStop event %q, want it cut off", e.Detail)
		}
	}
}

func TestNaiveSkipsPreStop(t *testing.T) {
	t.Parallel()
	k := testKubelet(t, "exit-on-term", 1, true)
	got := terminate(t, k)
	if want := []string{EvTerminating, EvSIGTERM, EvExited}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestExecArgsMoveTheContainerPorts(t *testing.T) {
	ports := map[int32]int{8080: 41000, 8081: 41001}
	got := execArgs("/tmp/build/worker", []string{"/worker", "probe", "-addr", "127.0.0.1:8080", "-service", "readiness", "[::1]:8081"}, ports)
	want := []string{"/tmp/build/worker", "probe", "-addr", "127.0.0.1:41000", "-service", "readiness", "[::1]:41001"}
	if !slices.Equal(got, want) {
		t.Errorf("execArgs = %v, want %v", got, want)
	}
	// A port that is not the container's stays.
	got = execArgs("/usr/bin/nc", []string{"nc", "-z", "127.0.0.1:9090", "10:80801"}, ports)
	if want := []string{"/usr/bin/nc", "-z", "127.0.0.1:9090", "10:80801"}; !slices.Equal(got, want) {
		t.Errorf("execArgs = %v, want %v", got, want)
	}
}

// TestNaiveTurnsTheDrainOff: a naive pod gets DRAIN_DELAY=0s whether the
// manifest sets the variable or leaves it to the service's default.
func TestNaiveTurnsTheDrainOff(t *testing.T) {
	for _, set := range []bool{true, false} {
		k := testKubelet(t, "exit-on-term", 1, true)
		if set {
			k.w.Container.Env = append(k.w.Container.Env, corev1.EnvVar{Name: "DRAIN_DELAY", Value: "2s"})
		}
		c, err := k.newContainer(newPod(k, "p", 1))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.logEnd.Close()
		var drains []string
		for _, kv := range c.env {
			if strings.HasPrefix(kv, "DRAIN_DELAY=") {
				drains = append(drains, kv)
			}
		}
		if !slices.Equal(drains, []string{"DRAIN_DELAY=0s"}) {
			t.Errorf("manifest sets DRAIN_DELAY: %v; naive pod's environment has %v, want only DRAIN_DELAY=0s", set, drains)
		}
	}
}

// TestExecHookRunsAsTheImageWould: on alpine a shell hook runs (with this
// machine's sh) and its failure is the kubelet's FailedPreStopHook; on
// distroless the same hook is not run at all.
func TestExecHookRunsAsTheImageWould(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, script, want string
	}{
		{"alpine:3.22", "sleep 0.1", "exec /bin/sh -c sleep 0.1 done"},
		{"alpine:3.22", "echo no drain; exit 3", "exit status 3: no drain"},
		{"gcr.io/distroless/static-debian12:nonroot", "sleep 0.1", "/bin/sh is not in the image"},
	} {
		k := testKubelet(t, "exit-on-term", 1, false)
		img, err := workload.ParseDockerfile("FROM " + tc.from + "\nCOPY --from=build /out/helper /helper\n")
		if err != nil {
			t.Fatal(err)
		}
		k.w.Image = img
		k.w.Container.Lifecycle.PreStop = &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", tc.script}}}
		terminate(t, k)
		var preStop []string
		for _, e := range k.tl.events() {
			if e.Kind == EvPreStop {
				preStop = append(preStop, e.Detail)
			}
		}
		if len(preStop) != 1 || !strings.Contains(preStop[0], tc.want) {
			t.Errorf("%s, %q: preStop events %q, want one saying %q", tc.from, tc.script, preStop, tc.want)
		}
	}
}
