package rehearse

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// endpoints is the Service's endpoint list as the proxy sees it: each
// change the endpoints controller makes reaches the proxy only after the
// propagation lag, in order, as kube-proxy's rules catch up with the
// EndpointSlices.
type endpoints struct {
	lag     time.Duration
	onApply func([]string)

	mu      sync.Mutex
	view    []string // what the proxy routes to now
	next    int      // round-robin position
	pending []pendingView
	wake    chan struct{}
}

type pendingView struct {
	at    time.Time
	addrs []string
}

func newEndpoints(lag time.Duration, onApply func([]string)) *endpoints {
	return &endpoints{lag: lag, onApply: onApply, wake: make(chan struct{}, 1)}
}

// set records the controller's new list; the proxy applies it after the lag.
func (e *endpoints) set(addrs []string) {
	e.mu.Lock()
	e.pending = append(e.pending, pendingView{time.Now().Add(e.lag), append([]string(nil), addrs...)})
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run applies pending lists as they come due, until ctx ends.
func (e *endpoints) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		wait, applied := time.Hour, false
		for len(e.pending) > 0 {
			p := e.pending[0]
			if d := time.Until(p.at); d > 0 {
				wait = d
				break
			}
			e.pending = e.pending[1:]
			e.view, applied = p.addrs, true
		}
		view := e.view
		e.mu.Unlock()
		if applied && e.onApply != nil {
			e.onApply(view) // once for changes that came due together
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

// pick chooses an endpoint round-robin from the proxy's current view.
func (e *endpoints) pick() (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.view) == 0 {
		return "", false
	}
	e.next = (e.next + 1) % len(e.view)
	return e.view[e.next], true
}

// Proxy stands in for the Service: every new connection goes to a ready
// endpoint of the proxy's (lagged) view, round-robin; a connection stays on
// the pod it was opened to for its whole life, as with kube-proxy's NAT
// rules. A connection sent to a pod that no longer listens is reset (in a
// cluster the client would see "connection refused" instead: the proxy has
// already accepted it).
type Proxy struct {
	ln  net.Listener
	eps *endpoints

	Accepted    atomic.Int64 // connections accepted
	Active      atomic.Int64 // connections open now
	NoEndpoints atomic.Int64 // rejected: no endpoint in the view
	DialFailed  atomic.Int64 // sent to an endpoint that was not listening

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(eps *endpoints) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Proxy{ln: ln, eps: eps, conns: map[net.Conn]struct{}{}}, nil
}

// Addr is the Service's stand-in address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.Accepted.Add(1)
		if !p.track(c) {
			reset(c)
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.handle(c)
		}()
	}
}

func (p *Proxy) handle(client net.Conn) {
	addr, ok := p.eps.pick()
	if !ok {
		p.NoEndpoints.Add(1)
		reset(client)
		return
	}
	backend, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		p.DialFailed.Add(1)
		reset(client)
		return
	}
	if !p.track(backend) {
		reset(client)
		_ = backend.Close()
		return
	}
	defer p.untrack(backend)
	p.Active.Add(1)
	defer p.Active.Add(-1)
	pipe(client, backend)
}

// pipe copies both ways. An orderly close (FIN) is passed on as a
// half-close, so "Connection: close" and GOAWAY reach the client as they
// would through NAT; an error (a reset) resets the other side too.
func pipe(client, backend net.Conn) {
	var failed atomic.Bool
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		if _, err := io.Copy(dst, src); err != nil && !errors.Is(err, net.ErrClosed) {
			failed.Store(true)
			reset(client)
			reset(backend)
			return
		}
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}
	go cp(backend, client)
	go cp(client, backend)
	<-done
	<-done
	if !failed.Load() {
		_ = client.Close()
		_ = backend.Close()
	}
}

// reset closes c with a TCP RST rather than a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false // closed
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// Close stops accepting and ends every connection.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
