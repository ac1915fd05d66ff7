package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Report is what a run did.
type Report struct {
	Start      time.Time      `json:"start"` // when the schedule began: lines the timeline up with other events
	Conns      int            `json:"conns"`
	TargetQPS  float64        `json:"targetQPS"`
	Elapsed    time.Duration  `json:"elapsedNs"`
	Total      int            `json:"total"`
	OK         int            `json:"ok"`
	Failed     int            `json:"failed"`
	Codes      map[string]int `json:"codes"`            // result code -> count
	Errors     map[string]int `json:"connectionErrors"` // refused, reset, eof, timeout, other -> count
	Late       int            `json:"late"`             // calls that started over LateAfter behind schedule
	Latency    Percentiles    `json:"latency"`
	PerSecond  []Second       `json:"perSecond"` // by second since the start: for charts and timelines
	FirstError string         `json:"firstError,omitempty"`
}

// Percentiles of call latency.
type Percentiles struct {
	P50  time.Duration `json:"p50Ns"`
	P90  time.Duration `json:"p90Ns"`
	P99  time.Duration `json:"p99Ns"`
	P999 time.Duration `json:"p999Ns"`
	Max  time.Duration `json:"maxNs"`
}

// Second counts the calls that started in one second of the run, with
// their latency, so a chart can show when failures and slow calls happened.
type Second struct {
	OK     int           `json:"ok"`
	Failed int           `json:"failed"`
	P50    time.Duration `json:"p50Ns"`
	P99    time.Duration `json:"p99Ns"`
	Max    time.Duration `json:"maxNs"`
}

// LateAfter is how far behind schedule a call may start before the report
// counts it as late: more than this, or more than one interval.
const LateAfter = 10 * time.Millisecond

// Passed reports whether every call succeeded and there was at least one.
func (r *Report) Passed() bool { return r.Total > 0 && r.Failed == 0 }

type recorder struct {
	mu        sync.Mutex
	start     time.Time
	latencies []time.Duration
	perSecond [][]time.Duration // latencies by second, for Second's percentiles
	late      []time.Duration
	r         Report
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start, r: Report{Codes: map[string]int{}, Errors: map[string]int{}}}
}

func (rec *recorder) add(start time.Time, latency, late time.Duration, res Result) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r := &rec.r
	r.Total++
	r.Codes[res.Code]++
	sec := int(start.Sub(rec.start) / time.Second)
	for len(r.PerSecond) <= sec {
		r.PerSecond = append(r.PerSecond, Second{})
		rec.perSecond = append(rec.perSecond, nil)
	}
	rec.perSecond[sec] = append(rec.perSecond[sec], latency)
	if res.OK {
		r.OK++
		r.PerSecond[sec].OK++
	} else {
		r.Failed++
		r.PerSecond[sec].Failed++
		if res.Err != nil {
			r.Errors[Classify(res.Err)]++
		}
		if r.FirstError == "" {
			r.FirstError = "code " + res.Code
			if res.Code == ConnectionError {
				r.FirstError = res.Code
			}
			if res.Err != nil {
				r.FirstError += ": " + res.Err.Error()
			}
		}
	}
	rec.latencies = append(rec.latencies, latency)
	rec.late = append(rec.late, late)
}

func (rec *recorder) report(cfg Config) *Report {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r := rec.r
	r.Start, r.Conns, r.TargetQPS, r.Elapsed = rec.start, cfg.Conns, cfg.QPS, time.Since(rec.start)
	if cfg.QPS > 0 {
		limit := max(LateAfter, time.Duration(float64(time.Second)/cfg.QPS))
		for _, l := range rec.late {
			if l > limit {
				r.Late++
			}
		}
	}
	r.Latency = percentiles(rec.latencies)
	r.PerSecond = append([]Second(nil), r.PerSecond...) // the recorder's copy stays as it was
	for i, l := range rec.perSecond {
		p := percentiles(l)
		r.PerSecond[i].P50, r.PerSecond[i].P99, r.PerSecond[i].Max = p.P50, p.P99, p.Max
	}
	return &r
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration { return s[int(q*float64(len(s)-1)+0.5)] }
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: s[len(s)-1]}
}

// Classify names the kind of a transport error, so a report tells a
// refused connection (nothing listening) from a reset one (a listener that
// went away mid-request).
func Classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	// Some clients (grpc-go) flatten the cause into a message.
	msg := err.Error()
	for _, k := range []struct{ text, kind string }{
		{"connection refused", "refused"}, {"connection reset", "reset"}, {"broken pipe", "reset"},
		{"EOF", "eof"}, {"deadline exceeded", "timeout"}, {"timeout", "timeout"},
	} {
		if strings.Contains(msg, k.text) {
			return k.kind
		}
	}
	return "other"
}

// WriteText prints the report for a person, with fortio's "Code 200 : N
// (P %)" lines so that tools reading fortio's output read this too.
func (r *Report) WriteText(w io.Writer) error {
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.Total) / r.Elapsed.Seconds()
	}
	target := "as fast as possible"
	if r.TargetQPS > 0 {
		target = fmt.Sprintf("target %g", r.TargetQPS)
	}
	fmt.Fprintf(w, "%d calls in %s over %d connection(s): %.1f per second (%s)\n", r.Total, r.Elapsed.Round(time.Millisecond), r.Conns, rate, target)
	codes := make([]string, 0, len(r.Codes))
	for c := range r.Codes {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool { return codeLess(codes[i], codes[j]) })
	for _, c := range codes {
		label := "Code " + c
		if c == ConnectionError {
			label = "Connection error"
		}
		fmt.Fprintf(w, "%s : %d (%.1f %%)\n", label, r.Codes[c], 100*float64(r.Codes[c])/float64(r.Total))
	}
	if len(r.Errors) > 0 {
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		fmt.Fprint(w, "Connection errors:")
		for _, k := range kinds {
			fmt.Fprintf(w, " %s %d", k, r.Errors[k])
		}
		fmt.Fprintln(w)
	}
	l := r.Latency
	fmt.Fprintf(w, "Latency: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max))
	if r.Late > 0 {
		fmt.Fprintf(w, "Behind schedule: %d calls started late; if every connection was busy, raise -c\n", r.Late)
	}
	var err error
	switch {
	case r.Total == 0:
		_, err = fmt.Fprintln(w, "RESULT: FAIL (no call was made)")
	case r.Failed > 0:
		_, err = fmt.Fprintf(w, "RESULT: FAIL (%d of %d failed; first: %s)\n", r.Failed, r.Total, r.FirstError)
	default:
		_, err = fmt.Fprintln(w, "RESULT: PASS (every call succeeded)")
	}
	return err
}

// WriteJSON prints the report for a program.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// codeLess orders numeric codes numerically, then names alphabetically.
func codeLess(a, b string) bool {
	na, errA := strconv.Atoi(a)
	nb, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return na < nb
	case errA == nil:
		return true
	case errB == nil:
		return false
	}
	return a < b
}
