package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func loadtest(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String() + errOut.String()
}

func TestAllSucceed(t *testing.T) {
	var served atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method %s, want POST", r.Method)
		}
		served.Add(1)
	}))
	defer ts.Close()
	code, out := loadtest(t, "-url", ts.URL, "-n", "50", "-c", "4", "-qps", "0")
	if code != 0 || served.Load() != 50 || !strings.Contains(out, "Code 200 : 50 (100.0 %)") {
		t.Errorf("exit %d, served %d:\n%s", code, served.Load(), out)
	}
}

func TestFailedResponsesExitOne(t *testing.T) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer ts.Close()
	code, out := loadtest(t, "-url", ts.URL, "-n", "20", "-c", "1", "-qps", "0")
	if code != 1 || !strings.Contains(out, "Code 503 : 4 (20.0 %)") || !strings.Contains(out, "Code 200 : 16 (80.0 %)") {
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
	code, out := loadtest(t, "-url", "http://"+addr+"/", "-n", "3", "-c", "1", "-json")
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
	// The text report names what happened: no response, not a status code.
	code, out = loadtest(t, "-url", "http://"+addr+"/", "-n", "2", "-c", "1")
	if code != 1 || !strings.Contains(out, "Connection error : 2 (100.0 %)") || strings.Contains(out, "Code -1") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// -c N opens N keep-alive connections, and reuses them.
func TestConnectionsAreKeptAlive(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	ts.Start()
	defer ts.Close()
	if code, out := loadtest(t, "-url", ts.URL, "-n", "200", "-c", "5", "-qps", "0"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 5 {
		t.Errorf("%d connections for -c 5", conns)
	}
}

// A redirect is an answer, not a success: it is not followed.
func TestRedirectsAreNotFollowed(t *testing.T) {
	ts := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusFound))
	defer ts.Close()
	if code, out := loadtest(t, "-url", ts.URL, "-n", "2", "-c", "1"); code != 1 || !strings.Contains(out, "Code 302 : 2") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"-c", "0"}, {"-qps", "-1"}, {"-qps", "NaN"}, {"-qps", "+Inf"}, {"-method", "PUT"}, {"-bogus"}, {"extra"},
		{"-url", "::"}, {"-url", "localhost:8080/work"}, {"-url", "ftp://example.com/work"}, {"-url", "http:///work"},
	} {
		code, out := loadtest(t, args...)
		if code != 2 || !strings.Contains(out, "loadtest: ") && !strings.Contains(out, "flag") {
			t.Errorf("%v: exit %d, want 2 and the reason:\n%s", args, code, out)
		}
	}
}
