// Command loadtest sends HTTP requests at a fixed rate over a fixed number
// of keep-alive connections, then reports the status codes, connection
// errors and latency percentiles. It exits 1 if any request failed (or none
// was made), so it can gate a pipeline; 2 on a bad command line.
//
// Fortio-style: 500 requests a second over 50 keep-alive connections
// during a rolling update; every response must be a 2xx:
//
//	loadtest -url 'http://HOST/work?ms=10' -qps 500 -c 50 -duration 60s
//
// Send requests continuously while you redeploy ten times, then press
// Ctrl-C (or send SIGTERM); the report covers every request sent:
//
//	loadtest -url http://HOST/work -qps 10 -c 1 -duration 0
//
// Requests are POSTs by default: Go's client silently re-sends an
// idempotent request (GET) that was written on a reused keep-alive
// connection the server then closed without answering, which hides exactly
// the failure a zero-downtime test looks for. A POST is re-sent only when
// not a byte of it was written, so every request the server may have seen
// is counted. -method GET is allowed. Redirects are not followed: a 3xx is
// counted as the non-2xx answer it is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/acme/payments/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		url      = fs.String("url", "http://127.0.0.1:8080/work?ms=0", "the URL to call")
		method   = fs.String("method", http.MethodPost, "POST (re-sent by the client only if unwritten) or GET")
		qps      = fs.Float64("qps", 100, "requests per second in total; 0 = as fast as the connections go")
		conns    = fs.Int("c", 8, "keep-alive connections, one worker each")
		duration = fs.Duration("duration", 10*time.Second, "how long to send; 0 = until Ctrl-C (or -n)")
		requests = fs.Int("n", 0, "stop after this many requests (overrides -duration)")
		timeout  = fs.Duration("timeout", 15*time.Second, "per-request timeout")
		asJSON   = fs.Bool("json", false, "print the report as JSON")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "loadtest: unexpected argument %q\n", fs.Arg(0))
		return 2
	case !(*qps >= 0) || math.IsInf(*qps, 0) || *conns < 1 || *requests < 0 || *duration < 0 || *timeout <= 0:
		fmt.Fprintln(stderr, "loadtest: -qps must be a finite number >= 0, -n >= 0, -c >= 1, -duration >= 0, -timeout > 0")
		return 2
	case *method != http.MethodPost && *method != http.MethodGet:
		fmt.Fprintln(stderr, "loadtest: -method must be POST or GET")
		return 2
	}
	if req, err := http.NewRequestWithContext(ctx, *method, *url, nil); err != nil {
		fmt.Fprintln(stderr, "loadtest: -url:", err)
		return 2
	} else if (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		fmt.Fprintf(stderr, "loadtest: -url %q: want an http:// or https:// URL with a host, like http://HOST/work\n", *url)
		return 2
	}

	clients := make([]*http.Client, *conns)
	for i := range clients {
		// A transport per worker: exactly one connection each, so there
		// really are -c keep-alive connections and none migrates between
		// workers.
		clients[i] = &http.Client{Timeout: *timeout, CheckRedirect: noRedirects, Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			DisableCompression:  true,
		}}
	}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	call := func(worker int) load.Result {
		// Not ctx: a request in flight when the run is interrupted finishes
		// (within -timeout), as load.Run promises, rather than fail.
		req, _ := http.NewRequestWithContext(context.Background(), *method, *url, nil)
		resp, err := clients[worker].Do(req)
		if err != nil {
			return load.Result{Code: load.ConnectionError, Err: errors.Unwrap(err)}
		}
		// Read the body to the end, so the connection is reused.
		_, err = io.Copy(io.Discard, resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return load.Result{Code: load.ConnectionError, Err: err}
		}
		return load.Result{OK: resp.StatusCode/100 == 2, Code: strconv.Itoa(resp.StatusCode)}
	}

	report := load.Run(ctx, load.Config{QPS: *qps, Conns: *conns, Duration: *duration, Requests: *requests}, call)
	write := report.WriteText
	if *asJSON {
		write = report.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	if !report.Passed() {
		return 1
	}
	return 0
}

// noRedirects makes the client return a 3xx as it is.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
