// Command loadtest calls the Work rpc at a fixed rate over a fixed number
// of connections, then reports the status codes, connection errors and
// latency percentiles. It exits 1 if any call failed (or none was made), so
// it can gate a pipeline; 2 on a bad command line.
//
// 500 calls a second over 50 connections during a rolling update; every
// call must succeed:
//
//	loadtest -addr HOST:PORT -qps 500 -c 50 -duration 60s
//
// Call continuously while you redeploy ten times, then press Ctrl-C (or
// send SIGTERM); the report covers every call sent:
//
//	loadtest -addr HOST:PORT -qps 10 -c 1 -duration 0
//
// grpc-go retries by itself only calls the server never processed (after a
// GOAWAY or a refused stream); any other failure is counted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	workerv1 "example.com/worker/api/worker/v1"
	"example.com/worker/internal/load"
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
		addr     = fs.String("addr", "127.0.0.1:8080", "the service's address, HOST:PORT")
		workMS   = fs.Int64("ms", 0, "how long each Work call takes, in milliseconds")
		qps      = fs.Float64("qps", 100, "calls per second in total; 0 = as fast as the connections go")
		conns    = fs.Int("c", 8, "connections, one worker each")
		duration = fs.Duration("duration", 10*time.Second, "how long to send; 0 = until Ctrl-C (or -n)")
		requests = fs.Int("n", 0, "stop after this many calls (overrides -duration)")
		timeout  = fs.Duration("timeout", 15*time.Second, "per-call deadline")
		asJSON   = fs.Bool("json", false, "print the report as JSON")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "loadtest: unexpected argument %q\n", fs.Arg(0))
		return 2
	case !(*qps >= 0) || math.IsInf(*qps, 0) || *conns < 1 || *requests < 0 || *duration < 0 || *timeout <= 0 || *workMS < 0:
		fmt.Fprintln(stderr, "loadtest: -qps must be a finite number >= 0, -n and -ms >= 0, -c >= 1, -duration >= 0, -timeout > 0")
		return 2
	}

	clients := make([]workerv1.WorkServiceClient, *conns)
	for i := range clients {
		// A connection per worker, so there really are -c connections.
		conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			fmt.Fprintln(stderr, "loadtest: -addr:", err)
			return 2
		}
		defer conn.Close()
		clients[i] = workerv1.NewWorkServiceClient(conn)
	}
	call := func(worker int) load.Result {
		cctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		_, err := clients[worker].Work(cctx, &workerv1.WorkRequest{DurationMs: *workMS})
		res := load.Result{OK: err == nil, Code: status.Code(err).String()}
		if c := status.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
			res.Err = err // the connection failed, not the call
		}
		return res
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
