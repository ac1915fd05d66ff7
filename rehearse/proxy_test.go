package rehearse

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"
)

// backend answers each line with its name, on one connection as long as
// the client keeps it.
func backend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintln(c, name)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func ask(t *testing.T, c net.Conn) (string, error) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintln(c, "who"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return line, err
}

// waitView waits, up to a deadline, for the proxy's view to be want.
func waitView(t *testing.T, e *endpoints, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		view := slices.Clone(e.view)
		e.mu.Unlock()
		if slices.Equal(view, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("view %v, want %v", view, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEndpointChangesWaitForTheLag(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := newEndpoints(time.Hour, nil)
	go slow.run(ctx)
	slow.set([]string{"a"})
	if _, ok := slow.pick(); ok {
		t.Error("an endpoint was routed to before the propagation lag")
	}
	fast := newEndpoints(0, nil)
	fast.set([]string{"a"})
	fast.set([]string{"a", "b"})
	fast.set([]string{"b"})
	go fast.run(ctx)
	waitView(t, fast, []string{"b"}) // the last change wins, in order
}

// startProxy runs a proxy with no propagation lag, until the test ends.
func startProxy(t *testing.T) (*endpoints, *Proxy) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	eps := newEndpoints(0, nil)
	go eps.run(ctx)
	p, err := newProxy(eps)
	if err != nil {
		t.Fatal(err)
	}
	go p.serve()
	t.Cleanup(func() { p.Close(); cancel() })
	return eps, p
}

func TestProxyKeepsConnectionsOnTheirPod(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	eps, p := startProxy(t)

	eps.set([]string{a})
	waitView(t, eps, []string{a})
	kept, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	if got, err := ask(t, kept); got != "a\n" || err != nil {
		t.Fatalf("first connection: %q, %v", got, err)
	}

	eps.set([]string{b}) // a leaves the endpoints
	waitView(t, eps, []string{b})
	if got, err := ask(t, kept); got != "a\n" || err != nil {
		t.Errorf("a kept-alive connection moved: %q, %v", got, err)
	}
	fresh, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if got, err := ask(t, fresh); got != "b\n" || err != nil {
		t.Errorf("a new connection went to %q (%v), want b", got, err)
	}
}

func TestProxyFailsConnectionsToADeadPod(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // the pod has stopped listening; the proxy does not know yet
	eps, p := startProxy(t)
	eps.set([]string{dead})
	waitView(t, eps, []string{dead})
	// The proxy accepts, fails to reach the pod and resets: the client
	// sees the reset at connect or at its first read.
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		defer c.Close()
		if got, err := ask(t, c); err == nil {
			t.Errorf("a connection to a dead pod answered %q", got)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.DialFailed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.DialFailed.Load() != 1 {
		t.Errorf("DialFailed = %d, want 1", p.DialFailed.Load())
	}
}
