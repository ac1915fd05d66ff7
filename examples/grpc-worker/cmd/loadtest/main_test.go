package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"example.com/worker/internal/config"
	"example.com/worker/internal/server"
)

// countingListener counts the connections the service accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// serve runs the real service's gRPC server on a loopback port.
func serve(t *testing.T) (string, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := server.New(config.Defaults(), slog.New(slog.NewTextHandler(io.Discard, nil))).GRPCServer()
	go func() { _ = srv.Serve(cl) }() // returns when the cleanup stops it
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), cl
}

func loadtest(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String() + errOut.String()
}

func TestAllSucceedOverCConnections(t *testing.T) {
	addr, ln := serve(t)
	code, out := loadtest(t, "-addr", addr, "-n", "60", "-c", "3", "-qps", "0")
	if code != 0 || !strings.Contains(out, "Code OK : 60 (100.0 %)") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if n := ln.accepted.Load(); n != 3 {
		t.Errorf("%d connections for -c 3", n)
	}
}

func TestFailedCallsExitOne(t *testing.T) {
	addr, _ := serve(t)
	// Above WORK_MAX: every call is rejected with InvalidArgument.
	code, out := loadtest(t, "-addr", addr, "-n", "4", "-c", "1", "-ms", "999999999")
	if code != 1 || !strings.Contains(out, "Code InvalidArgument : 4 (100.0 %)") || strings.Contains(out, "Connection errors") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestRefusedConnectionsAreCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	code, out := loadtest(t, "-addr", addr, "-n", "3", "-c", "1", "-json")
	var r struct {
		Failed int            `json:"failed"`
		Errors map[string]int `json:"connectionErrors"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("-json output: %v\n%s", err, out)
	}
	if code != 1 || r.Failed != 3 || r.Errors["refused"] != 3 {
		t.Errorf("exit %d, report %+v", code, r)
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"-c", "0"}, {"-qps", "-1"}, {"-qps", "NaN"}, {"-qps", "-Inf"}, {"-ms", "-5"}, {"-bogus"}, {"extra"}} {
		code, out := loadtest(t, args...)
		if code != 2 || !strings.Contains(out, "loadtest: ") && !strings.Contains(out, "flag") {
			t.Errorf("%v: exit %d, want 2 and the reason:\n%s", args, code, out)
		}
	}
}
