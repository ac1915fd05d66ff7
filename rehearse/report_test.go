package rehearse

import (
	"bytes"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdgen/zdgen/internal/chromiumtest"
)

// sampleResult is a small rehearsal: three seconds of load with a failure
// in the second, one rollout, two pods.
func sampleResult() *Result {
	r := &Result{Service: "greeter", Protocol: "http", Rate: 100, Conns: 4, Replicas: 1, MaxSurge: 1,
		LoadStartNs: time.Second, Rollouts: []Rollout{{Revision: 2, StartNs: 2 * time.Second, DurationNs: time.Second}}}
	r.Load.Total, r.Load.OK, r.Load.Failed = 300, 299, 1
	r.Load.Elapsed = 3 * time.Second
	r.Load.Codes = map[string]int{"200": 299, "-1": 1}
	r.Load.Errors = map[string]int{"reset": 1}
	r.Load.PerSecond = make([]LoadSecond, 3)
	for i := range r.Load.PerSecond {
		r.Load.PerSecond[i].OK, r.Load.PerSecond[i].P50, r.Load.PerSecond[i].P99 = 100, 10*time.Millisecond, 30*time.Millisecond
	}
	r.Load.PerSecond[1].OK, r.Load.PerSecond[1].Failed = 99, 1
	r.Events = []Event{
		{At: 0, Pod: "greeter-r1-1", Kind: EvCreated},
		{At: 500 * time.Millisecond, Pod: "greeter-r1-1", Kind: EvReady},
		{At: 2 * time.Second, Pod: "greeter-r2-2", Kind: EvCreated},
		{At: 2500 * time.Millisecond, Pod: "greeter-r2-2", Kind: EvReady},
		{At: 2500 * time.Millisecond, Pod: "greeter-r1-1", Kind: EvTerminating},
		{At: 3 * time.Second, Kind: EvEndpoints, Detail: "the proxy routes to 1 pod(s)"},
		{At: 3500 * time.Millisecond, Pod: "greeter-r1-1", Kind: EvSIGTERM, Detail: `</script><b>not markup</b>`},
		{At: 3600 * time.Millisecond, Pod: "greeter-r1-1", Kind: EvExited},
	}
	return r
}

func TestReportIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"http://", "https://", "<b>not markup</b>"} {
		if strings.Contains(strings.ReplaceAll(page, `"http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("the page contains %q: it must need no network and escape what it shows", bad)
		}
	}
	if !strings.Contains(page, `<script id="data" type="application/json">`) {
		t.Error("no inlined data")
	}
}

// TestReportRendersInChromium opens the page in headless Chromium and
// checks the DOM the inline script built: the chart's series and one
// marker per event.
func TestReportRendersInChromium(t *testing.T) {
	r := sampleResult()
	dom := renderInChromium(t, r)
	for _, id := range []string{`id="chart"`, `id="rate-ok"`, `id="rate-failed"`, `id="latency-p99"`, `id="pods"`} {
		if !strings.Contains(dom, id) {
			t.Errorf("the rendered page has no %s", id)
		}
	}
	if n := strings.Count(dom, `class="event"`); n != len(r.Events) {
		t.Errorf("%d event markers, want %d", n, len(r.Events))
	}
	if n := strings.Count(dom, `class="failure"`); n != 1 {
		t.Errorf("%d failure marks, want 1 (one second had a failure)", n)
	}
	if n := strings.Count(dom, `class="rollout"`); n != 2 {
		t.Errorf("%d rollout lines, want 2 (start and end)", n)
	}
	if !strings.Contains(dom, "chart: 3 seconds of load, 3 lanes, 8 events") {
		t.Errorf("the chart's status line is missing or wrong")
	}
	// Names that fit the margin are shown whole.
	if !strings.Contains(dom, "</title>greeter-r1-1</text>") {
		t.Errorf("the lane of greeter-r1-1 is not labelled with its whole name")
	}
}

// TestReportLaneNamesAreReadable: on a cluster the pods are named after
// the Deployment and its ReplicaSet ("orders-api-v2-6f65d98ffb-crmd8"),
// longer than the margin left of the lanes, and they differ only at the
// end. Every lane's label must lie inside the chart and left of the
// lanes, show the part that tells it from the others in full, and carry
// the whole name as its tooltip (an SVG <title>). The geometry is what
// Chromium laid out, measured by a script the test adds to the page.
func TestReportLaneNamesAreReadable(t *testing.T) {
	r := sampleResult()
	const prefix = "orders-api-v2-" // what every pod's name starts with
	pods := []string{prefix + "6f65d98ffb-crmd8", prefix + "6f65d98ffb-x7k2p", prefix + "7c9b5d4f8-q2w3e", prefix + "loadtest-njmtc",
		prefix + "7c9b5d4f8-" + strings.Repeat("z", 60)} // longer than any margin: cut from the left
	r.Events = nil
	for i, pod := range pods {
		r.Events = append(r.Events, Event{At: time.Duration(i) * 500 * time.Millisecond, Pod: pod, Kind: EvCreated})
	}
	r.Events = append(r.Events, Event{At: 3 * time.Second, Kind: EvEndpoints, Detail: "the proxy routes to 4 pod(s)"})
	const measure = `<script>
(function () {
  var lanesLeft = +document.querySelector("#rate rect").getAttribute("x");
  var out = [];
  document.querySelectorAll("#pods text.lane-name").forEach(function (n) {
    var b = n.getBBox(), title = n.querySelector("title");
    out.push({ shown: n.lastChild.nodeValue, title: title ? title.textContent : "", left: b.x, right: b.x + b.width, lanesLeft: lanesLeft });
  });
  var pre = document.createElement("pre");
  pre.id = "lane-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
</body>`
	dom := renderInChromium(t, r, func(page string) string { return strings.Replace(page, "</body>", measure, 1) })
	_, check, ok := strings.Cut(dom, `<pre id="lane-check">`)
	check, _, _ = strings.Cut(check, "</pre>")
	var labels []struct {
		Shown, Title           string
		Left, Right, LanesLeft float64
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(check)), &labels); !ok || err != nil {
		t.Fatalf("no lane measurements in the page (%v)", err)
	}
	if len(labels) != len(pods)+1 {
		t.Fatalf("%d lane labels, want %d (a lane per pod and the proxy's): %+v", len(labels), len(pods)+1, labels)
	}
	seen := map[string]bool{}
	for i, l := range labels {
		if l.Left < 0 || l.Right > l.LanesLeft {
			t.Errorf("lane %q: its label spans x %.0f to %.0f, outside the margin 0 to %.0f", l.Title, l.Left, l.Right, l.LanesLeft)
		}
		if seen[l.Shown] {
			t.Errorf("two lanes labelled %q", l.Shown)
		}
		seen[l.Shown] = true
		if i == len(pods) {
			if l.Shown != "proxy view" {
				t.Errorf("the proxy's lane is labelled %q", l.Shown)
			}
			continue
		}
		if l.Title != pods[i] {
			t.Errorf("lane %d: tooltip %q, want the whole name %q", i, l.Title, pods[i])
		}
		// The label is the end of the name, marked as cut where it is.
		shown := strings.TrimPrefix(l.Shown, "…")
		if !strings.HasSuffix(pods[i], shown) || (shown != pods[i] && !strings.HasPrefix(l.Shown, "…")) {
			t.Errorf("lane %q: label %q is not its name's end, marked as cut", pods[i], l.Shown)
		}
		if suffix := strings.TrimPrefix(pods[i], prefix); len(suffix) < 40 && !strings.HasSuffix(shown, suffix) {
			t.Errorf("lane %q: label %q does not show %q, what tells it from the others, in full", pods[i], l.Shown, suffix)
		}
	}
}

// renderInChromium writes the report, edited by each of edits, and
// returns its DOM after the scripts ran.
func renderInChromium(t *testing.T, r *Result, edits ...func(page string) string) string {
	t.Helper()
	var b strings.Builder
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, edit := range edits {
		html = edit(html)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	return chromiumtest.DumpDOM(t, page)
}

// TestResultJSONSaysPassed: the JSON result carries the verdict
// explicitly, so a pipeline need not re-derive it.
func TestResultJSONSaysPassed(t *testing.T) {
	for _, tc := range []struct {
		res  Result
		want bool
	}{
		{Result{Load: LoadReport{Total: 10, OK: 10}}, true},
		{Result{Load: LoadReport{Total: 10, OK: 9, Failed: 1}}, false},
		{Result{Load: LoadReport{Total: 10, OK: 10}, Problems: []string{"SIGKILL"}}, false},
	} {
		b, err := json.Marshal(&tc.res)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got["passed"] != tc.want || got["load"] == nil {
			t.Errorf("%s: passed = %v, want %v with the rest of the result", b, got["passed"], tc.want)
		}
	}
}

// TestReportNamesTheCluster: a rehearsal on a cluster says where it ran,
// and has no Service stand-in to report on.
func TestReportNamesTheCluster(t *testing.T) {
	r := sampleResult()
	r.Cluster = &ClusterInfo{Context: "staging", Namespace: "zdgen-rehearse-abc123", Image: "greeter:1", LoadImage: "greeter-loadtest:1"}
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.Contains(page, "context staging") || !strings.Contains(page, "namespace zdgen-rehearse-abc123") || !strings.Contains(page, "image greeter:1") {
		t.Error("the page does not say which cluster, namespace and image the rehearsal ran on")
	}
	if strings.Contains(page, "<th>proxy</th>") {
		t.Error("the page reports a proxy a cluster rehearsal does not have")
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"proxy"`) {
		t.Errorf("the JSON result carries the stand-in's proxy counters: %s", data)
	}
}

// TestReportShowsDrains: a cluster rehearsal that drained a node shows
// each drain as a rollout is shown, a line at its start (the cordon) and
// its end (every replica back; the uncordon) across the panels, marks the
// evictions and the refused ones on the pod lanes, and lists the drains
// in the table instead of rollouts.
func TestReportShowsDrains(t *testing.T) {
	r := sampleResult()
	r.Rollouts = nil
	r.Cluster = &ClusterInfo{Namespace: "zdgen-rehearse-abc123", Image: "greeter:1", LoadImage: "greeter-loadtest:1"}
	r.Disruption = &Disruption{Kind: "drain", Rounds: []DisruptionRound{
		{Node: "worker-2", StartNs: 2 * time.Second, DurationNs: time.Second, Evictions: 1, TooManyRequests: 2},
	}}
	r.Events = append(r.Events,
		Event{At: 2 * time.Second, Kind: EvCordon, Detail: "node worker-2 cordoned"},
		Event{At: 2100 * time.Millisecond, Pod: "greeter-r1-1", Kind: EvEvictRefused},
		Event{At: 2200 * time.Millisecond, Pod: "greeter-r1-1", Kind: EvEvictRefused},
		Event{At: 2300 * time.Millisecond, Pod: "greeter-r1-1", Kind: EvEvicted},
		Event{At: 3700 * time.Millisecond, Pod: "greeter-r1-1", Kind: EvGone},
		Event{At: 3 * time.Second, Kind: EvUncordon, Detail: "node worker-2 uncordoned"})
	dom := renderInChromium(t, r)
	if n := strings.Count(dom, `class="disruption"`); n != 2 {
		t.Errorf("%d drain lines, want 2 (cordon and uncordon)", n)
	}
	if n := strings.Count(dom, `class="rollout"`); n != 0 {
		t.Errorf("%d rollout lines in a rehearsal that drained instead", n)
	}
	if !strings.Contains(dom, ">drain 1</text>") || !strings.Contains(dom, "cordon worker-2 at 2.00 s") || !strings.Contains(dom, "uncordon worker-2 at 3.00 s") {
		t.Error("the drain's lines are not labelled with its cordon and uncordon")
	}
	for kind, fill := range map[string]string{EvEvicted: "#e65100", EvEvictRefused: "#f9a825"} {
		if !strings.Contains(dom, `data-kind="`+kind+`" cx=`) || !strings.Contains(dom, `fill="`+fill+`"><title>`+kind) {
			t.Errorf("no %s marker filled %s on the pod's lane", kind, fill)
		}
	}
	if !strings.Contains(dom, "<th>drains</th><td>node worker-2: 1 evicted, 2 refused (429) and retried, 1s</td>") || strings.Contains(dom, "<th>rollouts</th>") {
		t.Error("the table does not list the drain instead of rollouts")
	}
}
