package cluster

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// lagEvery is how often the lag probe reads each node's rules: the
// resolution of the lag it measures.
const lagEvery = 200 * time.Millisecond

// lagProbe measures, for every node, how long its kube-proxy takes to stop
// sending new connections to a pod once the Service's EndpointSlice stops
// listing that pod ready: the propagation lag the preStop hook must cover.
// It watches the EndpointSlices and reads each node's rules themselves
// (iptables-save's nat table, or kube-proxy's nftables table) every
// lagEvery, in the node's network namespace.
type lagProbe struct {
	d      *deployment
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	changed map[string]time.Time            // pod IP: when the EndpointSlice stopped listing it ready
	routed  map[string]map[string]bool      // node: pod IPs its rules have sent connections to
	dropped map[string]map[string]time.Time // node: pod IP: the end of the first read without it
	errs    []string
}

// startLagProbe starts watching the deployment's Service and reading
// every node's rules for it.
func startLagProbe(t *testing.T, d *deployment) *lagProbe {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	p := &lagProbe{d: d, cancel: cancel, changed: map[string]time.Time{},
		routed: map[string]map[string]bool{}, dropped: map[string]map[string]time.Time{}}
	p.wg.Go(func() { p.watchSlices(c) })
	for _, cn := range d.n.nodes {
		p.routed[cn.Name] = map[string]bool{}
		p.dropped[cn.Name] = map[string]time.Time{}
		p.wg.Go(func() { p.readRules(c, cn) })
	}
	t.Cleanup(p.stop)
	return p
}

// watchSlices records when each ready endpoint stops being ready (a pod
// terminating) or leaves its slice. It watches from the API server's watch
// cache (resource version "0"): a watch from the latest version waits for
// the cache to catch up with etcd, which the Debian etcd this cluster runs
// does not help it do, and fails after 3 s when nothing else changes.
func (p *lagProbe) watchSlices(c context.Context) {
	ready := map[string]map[string]bool{} // slice: ready IPs
	rv := "0"
	for c.Err() == nil {
		w, err := p.d.n.client.DiscoveryV1().EndpointSlices(p.d.ns).Watch(c, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=" + p.d.name, ResourceVersion: rv,
		})
		if err != nil {
			p.note(c, "watching the EndpointSlices: %v", err)
			time.Sleep(time.Second)
			continue
		}
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*discoveryv1.EndpointSlice)
			if !ok {
				// An error event ends the watch; the next starts from the
				// cache again.
				p.note(c, "the EndpointSlice watch ended: %v", ev.Object)
				rv = "0"
				break
			}
			rv = s.ResourceVersion
			p.sliceChanged(ready, s, ev.Type == watch.Deleted)
		}
		w.Stop()
	}
}

// sliceChanged records the endpoints of slice s that were ready and are not
// (or are gone, when deleted).
func (p *lagProbe) sliceChanged(ready map[string]map[string]bool, s *discoveryv1.EndpointSlice, deleted bool) {
	now := time.Now()
	was := ready[s.Name]
	is := map[string]bool{}
	if !deleted {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				for _, a := range e.Addresses {
					is[a] = true
				}
			}
		}
	}
	p.mu.Lock()
	for ip := range was {
		if _, seen := p.changed[ip]; !is[ip] && !seen {
			p.changed[ip] = now
		}
	}
	p.mu.Unlock()
	ready[s.Name] = is
}

// note records a problem of the probe's, reported with its result.
func (p *lagProbe) note(c context.Context, format string, args ...any) {
	if c.Err() != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) < 5 {
		p.errs = append(p.errs, fmt.Sprintf(format, args...))
	}
}

// readRules reads the node's rules for the Service until the probe stops.
func (p *lagProbe) readRules(c context.Context, cn clusterNode) {
	for c.Err() == nil {
		ips, err := routedIPs(cn, p.d.ns, p.d.name)
		end := time.Now()
		if err != nil {
			p.note(c, "%s: %v", cn.Name, err)
		}
		p.mu.Lock()
		if err == nil {
			for ip := range ips {
				p.routed[cn.Name][ip] = true
			}
			for ip := range p.routed[cn.Name] {
				if _, done := p.dropped[cn.Name][ip]; !ips[ip] && !done {
					p.dropped[cn.Name][ip] = end
				}
			}
		}
		p.mu.Unlock()
		select {
		case <-c.Done():
		case <-time.After(lagEvery):
		}
	}
}

var (
	// iptables mode: the Service's chain jumps to one chain per endpoint,
	// each jump commented "NS/NAME:PORT -> IP:PORT".
	iptablesEndpoint = regexp.MustCompile(`^-A KUBE-SVC-\S+ .*--comment "?([^ "]+):\S* -> ([0-9.]+):[0-9]+"?`)
	// nftables mode: the Service's chain picks an endpoint chain from a
	// verdict map; each chain's name ends in __IP/PORT.
	nftablesEndpoint = regexp.MustCompile(`goto endpoint-[A-Z0-9]+-([^/ ]+/[^/ ]+)/[a-z]+/[^_ ]*__([0-9.]+)/[0-9]+`)
)

// routedIPs reads the pod IPs that the node's kube-proxy sends new
// connections to the Service ns/name to.
func routedIPs(cn clusterNode, ns, name string) (map[string]bool, error) {
	var out []byte
	var err error
	re := iptablesEndpoint
	switch cn.ProxyMode {
	case "nftables":
		out, err = cn.command("nft", "list", "table", "ip", "kube-proxy").Output()
		re = nftablesEndpoint
	default:
		out, err = cn.command("iptables-save", "-t", "nat").Output()
	}
	if err != nil {
		return nil, fmt.Errorf("reading the %s rules: %w", cn.ProxyMode, err)
	}
	ips := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			if m[1] == ns+"/"+name {
				ips[m[2]] = true
			}
		}
	}
	return ips, nil
}

func (p *lagProbe) stop() {
	p.cancel()
	p.wg.Wait()
}

// nodeLag is one node's measured propagation lag.
type nodeLag struct {
	Node      string  `json:"node"`
	Mode      string  `json:"proxyMode"`
	Endpoints int     `json:"endpoints"` // endpoint changes measured
	Max       float64 `json:"maxSeconds"`
	Median    float64 `json:"medianSeconds"`
}

// result stops the probe and returns each node's lag over every endpoint
// that stopped being ready while it ran and that the node had routed to.
func (p *lagProbe) result(t *testing.T) []nodeLag {
	t.Helper()
	p.stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errs {
		t.Errorf("the lag probe: %s", e)
	}
	if len(p.changed) == 0 {
		t.Errorf("the EndpointSlices of %s/%s listed no endpoint that stopped being ready", p.d.ns, p.d.name)
	}
	for _, cn := range p.d.n.nodes {
		t.Logf("%s: its rules routed to %d pods, %d of them dropped; %d endpoints stopped being ready",
			cn.Name, len(p.routed[cn.Name]), len(p.dropped[cn.Name]), len(p.changed))
	}
	var out []nodeLag
	for _, cn := range p.d.n.nodes {
		var lags []float64
		for ip, changed := range p.changed {
			dropped, ok := p.dropped[cn.Name][ip]
			if !ok {
				if p.routed[cn.Name][ip] {
					t.Errorf("%s still sends connections to %s, not ready since %s", cn.Name, ip, changed.Format("15:04:05.0"))
				}
				continue
			}
			lags = append(lags, max(0, dropped.Sub(changed).Seconds()))
		}
		sort.Float64s(lags)
		l := nodeLag{Node: cn.Name, Mode: cn.ProxyMode, Endpoints: len(lags)}
		if len(lags) > 0 {
			l.Max, l.Median = lags[len(lags)-1], lags[len(lags)/2]
		}
		out = append(out, l)
	}
	return out
}

// lagMargin is how close to the preStop default a node's measured lag may
// come before the test reports it: more than the probe's own uncertainty
// (a read every lagEvery, and the read itself, both of which only lengthen
// the measured lag). Measured on a 2-core machine running all three nodes,
// the services and both load clients, the slowest node has come within
// 1.1 s of the default (3.84 s in BENCHMARKS.md) and, in one CI run on a
// saturated machine, within 0.16 s (4.84 s, nftables, no request lost).
const lagMargin = 500 * time.Millisecond

// checkLag fails the test unless every node measured some endpoint change
// and dropped every endpoint within the preStop default: a longer lag
// breaks the timing model (a pod stops listening while a node still
// routes to it). A lag within lagMargin of the default is logged as a
// warning: the measurement overstates the lag by up to a read interval,
// and a saturated test machine is not a reason to fail a model that
// held.
func checkLag(t *testing.T, lags []nodeLag) {
	t.Helper()
	errs, warnings := judgeLag(lags)
	for _, l := range lags {
		t.Logf("propagation lag on %s (%s): max %.2fs, median %.2fs over %d endpoint changes (read every %s)",
			l.Node, l.Mode, l.Max, l.Median, l.Endpoints, lagEvery)
	}
	for _, w := range warnings {
		t.Log("warning: " + w)
	}
	for _, e := range errs {
		t.Error(e)
	}
}

// judgeLag says what checkLag fails on, and what it warns of.
func judgeLag(lags []nodeLag) (errs, warnings []string) {
	for _, l := range lags {
		switch {
		case l.Endpoints == 0:
			errs = append(errs, fmt.Sprintf("%s: no endpoint change measured: the probe reads nothing", l.Node))
		case l.Max >= propagationLag.Seconds():
			errs = append(errs, fmt.Sprintf("%s (%s): kube-proxy took %.2fs to drop an endpoint, not within the preStop default %s: the timing model's default does not hold on this cluster", l.Node, l.Mode, l.Max, propagationLag))
		case l.Max > (propagationLag - lagMargin).Seconds():
			warnings = append(warnings, fmt.Sprintf("%s (%s): kube-proxy took %.2fs to drop an endpoint, within %s of the preStop default %s", l.Node, l.Mode, l.Max, lagMargin, propagationLag))
		}
	}
	return errs, warnings
}

// The verdicts on measured lags; runs without a cluster.
func TestJudgeLag(t *testing.T) {
	for _, c := range []struct {
		lag            nodeLag
		errs, warnings int
	}{
		{nodeLag{Node: "a", Max: 3.84, Endpoints: 30}, 0, 0},
		{nodeLag{Node: "a", Max: 4.84, Endpoints: 30}, 0, 1},
		{nodeLag{Node: "a", Max: 5.0, Endpoints: 30}, 1, 0},
		{nodeLag{Node: "a", Max: 7.2, Endpoints: 30}, 1, 0},
		{nodeLag{Node: "a", Endpoints: 0}, 1, 0},
	} {
		errs, warnings := judgeLag([]nodeLag{c.lag})
		if len(errs) != c.errs || len(warnings) != c.warnings {
			t.Errorf("max %.2fs over %d changes: errors %q, warnings %q; want %d and %d", c.lag.Max, c.lag.Endpoints, errs, warnings, c.errs, c.warnings)
		}
	}
}

// The two rule formats, as kube-proxy 1.34 writes them (lines copied from
// the cluster's nodes); runs without a cluster.
func TestEndpointRules(t *testing.T) {
	for _, c := range []struct {
		re   *regexp.Regexp
		line string
		want []string
	}{
		{iptablesEndpoint, `-A KUBE-SVC-AGWN6M2MURHDFPPX -m comment --comment "rollouts-http/greeter:http -> 10.217.0.4:8080" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-3MBYM6I7AZOIWDLU`,
			[]string{"rollouts-http/greeter", "10.217.0.4"}},
		{iptablesEndpoint, `-A KUBE-SEP-3MBYM6I7AZOIWDLU -p tcp -m comment --comment "rollouts-http/greeter:http" -m tcp -j DNAT --to-destination 10.217.0.4:8080`, nil},
		{iptablesEndpoint, `-A KUBE-SVC-AGWN6M2MURHDFPPX ! -s 10.217.0.0/16 -d 10.218.0.172/32 -p tcp -m comment --comment "rollouts-http/greeter:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`, nil},
		{nftablesEndpoint, `		numgen random mod 3 vmap { 0 : goto endpoint-7VTCNMMQ-rollouts-http/greeter/tcp/http__10.217.0.4/8080, 1 : goto endpoint-XSWX24JM-rollouts-http/greeter/tcp/http__10.217.1.4/8080 }`,
			[]string{"rollouts-http/greeter", "10.217.0.4", "rollouts-http/greeter", "10.217.1.4"}},
		{nftablesEndpoint, `	chain endpoint-XSWX24JM-rollouts-http/greeter/tcp/http__10.217.1.4/8080 {`, nil},
	} {
		var got []string
		for _, m := range c.re.FindAllStringSubmatch(c.line, -1) {
			got = append(got, m[1], m[2])
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s\nread %q, want %q", c.line, got, c.want)
		}
	}
}
