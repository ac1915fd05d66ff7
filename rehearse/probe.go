package rehearse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
)

// startProbes runs the container's startup, readiness and liveness
// probes, each in its own goroutine as the kubelet's workers, until ctx
// ends. Without a startup probe the container counts as started at once.
func (p *Pod) startProbes(ctx context.Context, c *container) {
	ct := p.k.w.Container
	trigger := make(chan struct{}, 1)
	if ct.StartupProbe == nil {
		p.setStarted(c, trigger)
	} else {
		go p.probeLoop(ctx, c, "startup", ct.StartupProbe, nil, trigger)
	}
	if ct.ReadinessProbe != nil {
		go p.probeLoop(ctx, c, "readiness", ct.ReadinessProbe, trigger, nil)
	} else {
		go p.readyOnceStarted(ctx, c)
	}
	if ct.LivenessProbe != nil {
		go p.probeLoop(ctx, c, "liveness", ct.LivenessProbe, nil, nil)
	}
}

// readyOnceStarted stands in for a missing readiness probe: the container
// is ready once it has started.
func (p *Pod) readyOnceStarted(ctx context.Context, c *container) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if p.isStarted(c) {
				p.setReady(c, true)
				return
			}
		}
	}
}

// probeLoop runs one probe as the kubelet's worker does: first after
// initialDelaySeconds, then every periodSeconds; readiness and liveness
// wait for the startup probe; successThreshold passes in a row flip a
// result to success, failureThreshold misses to failure.
func (p *Pod) probeLoop(ctx context.Context, c *container, kind string, pr *corev1.Probe, trigger <-chan struct{}, started chan<- struct{}) {
	period := secondsOr(pr.PeriodSeconds, 10)
	timeout := secondsOr(pr.TimeoutSeconds, 1)
	successes := max(1, int(pr.SuccessThreshold))
	failures := max(1, int(pr.FailureThreshold))
	if pr.FailureThreshold == 0 {
		failures = 3
	}
	if d := time.Duration(pr.InitialDelaySeconds) * time.Second; d > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	okRun, failRun := 0, 0
	for {
		if kind == "startup" || p.isStarted(c) {
			err := p.runProbe(ctx, c, pr, timeout)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				okRun, failRun = okRun+1, 0
			} else {
				okRun, failRun = 0, failRun+1
			}
			switch kind {
			case "startup":
				if okRun >= successes {
					p.setStarted(c, started)
					return
				}
				if failRun >= failures {
					p.restart(c, fmt.Sprintf("startup probe failed %d times (%v): the kubelet restarts the container", failRun, err))
					return
				}
			case "readiness":
				if okRun >= successes {
					p.setReady(c, true)
				} else if failRun >= failures {
					p.setReady(c, false)
				}
			case "liveness":
				if failRun >= failures {
					p.restart(c, fmt.Sprintf("liveness probe failed %d times (%v): the kubelet restarts the container; liveness must pass until exit", failRun, err))
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-trigger:
		}
	}
}

func secondsOr(s int32, def int) time.Duration {
	if s <= 0 {
		return time.Duration(def) * time.Second
	}
	return time.Duration(s) * time.Second
}

// runProbe asks the container once, as the probe's handler says.
func (p *Pod) runProbe(ctx context.Context, c *container, pr *corev1.Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h := pr.ProbeHandler
	switch {
	case h.HTTPGet != nil:
		port, err := p.k.w.ContainerPort(h.HTTPGet.Port)
		if err != nil {
			return err
		}
		return httpProbe(ctx, fmt.Sprintf("127.0.0.1:%d", c.ports[port]), h.HTTPGet)
	case h.GRPC != nil:
		service := ""
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		return grpcProbe(ctx, fmt.Sprintf("127.0.0.1:%d", c.ports[h.GRPC.Port]), service)
	case h.TCPSocket != nil:
		port, err := p.k.w.ContainerPort(h.TCPSocket.Port)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", c.ports[port]))
		if err != nil {
			return err
		}
		return conn.Close()
	case h.Exec != nil:
		return p.k.exec(ctx, c, h.Exec.Command)
	}
	return errors.New("the probe has no handler")
}

func (p *Pod) isStarted(c *container) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return c.started
}

func (p *Pod) setStarted(c *container, trigger chan<- struct{}) {
	p.mu.Lock()
	c.started = true
	p.mu.Unlock()
	p.k.tl.add(p.Name, EvStarted, "")
	// The kubelet probes readiness at once when a container has started
	// but is not ready yet, rather than at the next period.
	select {
	case trigger <- struct{}{}:
	default:
	}
}

func (p *Pod) setReady(c *container, ready bool) {
	p.mu.Lock()
	if c.ready == ready || p.c != c {
		p.mu.Unlock()
		return
	}
	c.ready = ready
	if ready {
		p.readySince = time.Now()
	} else {
		p.readySince = time.Time{}
	}
	p.mu.Unlock()
	if ready {
		p.k.tl.add(p.Name, EvReady, "")
	} else {
		p.k.tl.add(p.Name, EvUnready, "")
	}
	p.k.onChange()
}

// probeClient asks as the kubelet does: no keep-alive (each probe is a new
// connection) and no redirects followed off the pod.
var probeClient = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// httpProbe succeeds on a status from 200 to 399, as the kubelet's does.
func httpProbe(ctx context.Context, hostPort string, g *corev1.HTTPGetAction) error {
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		return fmt.Errorf("httpGet with scheme HTTPS is not rehearsed")
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+hostPort+path, nil)
	if err != nil {
		return err
	}
	for _, h := range g.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	req.Header.Set("User-Agent", "kube-probe/rehearse")
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// grpcProbe asks the standard health service, as the kubelet's native gRPC
// probe does, with grpc-go's own health client.
func grpcProbe(ctx context.Context, hostPort, service string) error {
	conn, err := grpc.NewClient(hostPort, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health %q: %s", service, resp.GetStatus())
	}
	return nil
}
