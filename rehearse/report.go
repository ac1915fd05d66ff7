package rehearse

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteHTML writes a self-contained page about a rehearsal: the numbers,
// and a chart of request rate, failures and latency over time with each
// pod's lifecycle marked. The data is inlined as JSON and drawn by an
// inline script into SVG, so the page needs no network to be viewed.
func WriteHTML(w io.Writer, r *Result) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return reportPage.Execute(w, struct {
		R     *Result
		Mode  string
		Data  template.JS
		Codes string
		Kinds string
	}{
		R:     r,
		Mode:  map[bool]string{false: "protected", true: "naive (no preStop, no drain delay)"}[r.Naive],
		Data:  template.JS(data), // json.Marshal escapes <, > and &, so it cannot end the script
		Codes: joinCounts(r.Load.Codes),
		Kinds: joinCounts(r.Load.Errors),
	})
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":  func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) },
	"dur": func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() },
	"sec": func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rehearsal: {{.R.Service}} ({{.Mode}}){{with .R.Cluster}} on {{.Namespace}}{{end}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; }
.pass { color: #17692b; } .fail { color: #b3261e; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
#events td { font-family: ui-monospace, monospace; font-size: 12px; }
svg text { font: 11px system-ui, sans-serif; fill: #444; }
.legend span { margin-right: 1.2em; }
.sw { display: inline-block; width: 12px; height: 3px; vertical-align: middle; margin-right: 4px; }
</style>
</head>
<body>
<h1>Rehearsal of {{.R.Service}} ({{.R.Protocol}}){{if .R.Cluster}} on a cluster{{end}}, {{.Mode}}:
{{if .R.Passed}}<span class="pass">PASS</span>{{else}}<span class="fail">FAIL</span>{{end}}</h1>
<table>
<tr><th>load</th><td>{{.R.Rate}} requests/s over {{.R.Conns}} keep-alive connections</td></tr>
<tr><th>deployment</th><td>{{.R.Replicas}} replicas, maxSurge {{.R.MaxSurge}}, preStop {{dur .R.PreStopNs}}, drain {{dur .R.DrainNs}}, grace {{dur .R.GraceNs}}; propagation lag {{dur .R.LagNs}}{{if .R.Cluster}} (planned; the cluster's own){{end}}</td></tr>
<tr><th>requests</th><td>{{.R.Load.Total}}: {{.R.Load.OK}} ok, {{.R.Load.Failed}} failed</td></tr>
<tr><th>by code</th><td>{{.Codes}}</td></tr>
<tr><th>connection errors</th><td>{{.Kinds}}</td></tr>
<tr><th>latency</th><td>p50 {{ms .R.Load.Latency.P50}}, p90 {{ms .R.Load.Latency.P90}}, p99 {{ms .R.Load.Latency.P99}}, p99.9 {{ms .R.Load.Latency.P999}}, max {{ms .R.Load.Latency.Max}}</td></tr>
<tr><th>rollouts</th><td>{{range $i, $r := .R.Rollouts}}{{if $i}}, {{end}}{{dur $r.DurationNs}}{{end}}</td></tr>
{{with .R.Cluster}}<tr><th>cluster</th><td>{{if .Context}}context {{.Context}}, {{end}}{{if .Server}}{{.Server}}, {{end}}namespace {{.Namespace}}{{if .Kept}} (kept){{end}}; image {{.Image}}, load client {{.LoadImage}}</td></tr>
{{else}}<tr><th>proxy</th><td>{{.R.Proxy.Accepted}} connections; {{.R.Proxy.DialFailed}} sent to a pod no longer listening; {{.R.Proxy.NoEndpoints}} with no endpoint</td></tr>
{{end}}
{{range .R.Problems}}<tr><th class="fail">problem</th><td>{{.}}</td></tr>{{end}}
</table>
<div class="legend">
<span><i class="sw" style="background:#2e7d32"></i>ok requests/s</span>
<span><i class="sw" style="background:#c62828"></i>failed requests/s</span>
<span><i class="sw" style="background:#1565c0"></i>latency p50</span>
<span><i class="sw" style="background:#8e24aa"></i>latency p99</span>
<span><i class="sw" style="background:#bbb"></i>pod starting</span>
<span><i class="sw" style="background:#81c784"></i>pod ready</span>
<span><i class="sw" style="background:#ffb74d"></i>pod terminating</span>
<span><i class="sw" style="background:#555"></i>rollout</span>
</div>
<div id="chart-box"><noscript>The chart needs JavaScript; the tables hold the same data.</noscript></div>
<p id="chart-status"></p>
<h2>Pod events</h2>
<table id="events">
<tr><th>time</th><th>pod</th><th>event</th><th>detail</th></tr>
{{range .R.Events}}<tr><td>{{sec .At}}</td><td>{{.Pod}}</td><td>{{.Kind}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>
<script id="data" type="application/json">{{.Data}}</script>
<script>
(function () {
  "use strict";
  var R = JSON.parse(document.getElementById("data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var W = 1000, left = 110, right = 20, rateH = 160, latH = 120, laneH = 16, gap = 28;
  var sec = function (ns) { return ns / 1e9; };
  var per = (R.load && R.load.perSecond) || [];
  var t0 = sec(R.loadStartNs || 0);
  var end = t0 + per.length;
  (R.events || []).forEach(function (e) { end = Math.max(end, sec(e.atNs)); });
  end = Math.max(end, 1);

  var pods = [], byPod = {};
  // The last second is cut short when the load stops: scale it to a rate.
  var lastPart = R.load ? sec(R.load.elapsedNs) - (per.length - 1) : 1;
  if (per.length && lastPart > 0 && lastPart < 1) {
    var l = per[per.length - 1];
    per[per.length - 1] = { ok: l.ok / lastPart, failed: l.failed / lastPart, p50Ns: l.p50Ns, p99Ns: l.p99Ns };
  }
  (R.events || []).forEach(function (e) {
    // The proxy's endpoint changes get a lane of their own: they show the lag.
    var lane = e.pod || (e.kind === "endpoints" ? "proxy view" : "");
    if (!lane) { return; }
    if (!byPod[lane]) { byPod[lane] = { name: lane, events: [] }; pods.push(byPod[lane]); }
    byPod[lane].events.push(e);
  });
  var lanesTop = gap + rateH + gap + latH + gap;
  var H = lanesTop + pods.length * laneH + 30;
  var x = function (t) { return left + (W - left - right) * t / end; };

  function el(name, attrs, parent) {
    var n = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    (parent || svg).appendChild(n);
    return n;
  }
  function text(s, attrs, parent) { var n = el("text", attrs, parent); n.textContent = s; return n; }

  var svg = document.createElementNS(NS, "svg");
  svg.setAttribute("id", "chart");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("width", "100%");
  document.getElementById("chart-box").appendChild(svg);

  // A panel: y axis with a few ticks, and one path per series.
  function panel(id, top, height, label, series, fmt) {
    var g = el("g", { id: id });
    var maxV = 1;
    series.forEach(function (s) { s.values.forEach(function (v) { maxV = Math.max(maxV, v); }); });
    var y = function (v) { return top + height - height * v / maxV; };
    el("rect", { x: left, y: top, width: W - left - right, height: height, fill: "#fafafa", stroke: "#ddd" }, g);
    for (var i = 0; i <= 4; i++) {
      var v = maxV * i / 4;
      el("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#eee" }, g);
      text(fmt(v), { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, g);
    }
    text(label, { x: left, y: top - 8 }, g);
    series.forEach(function (s) {
      var d = "";
      s.values.forEach(function (v, i) {
        d += (i ? "L" : "M") + x(t0 + i + 0.5).toFixed(1) + "," + y(v).toFixed(1);
      });
      el("path", { id: s.id, d: d, fill: "none", stroke: s.color, "stroke-width": 1.8 }, g);
    });
    return g;
  }
  var ms = function (ns) { return ns / 1e6; };
  panel("rate", gap, rateH, "requests per second (by second started)", [
    { id: "rate-ok", color: "#2e7d32", values: per.map(function (s) { return s.ok; }) },
    { id: "rate-failed", color: "#c62828", values: per.map(function (s) { return s.failed; }) }
  ], function (v) { return v.toFixed(0); });
  panel("latency", gap + rateH + gap, latH, "latency, ms (p50, p99 of each second)", [
    { id: "latency-p50", color: "#1565c0", values: per.map(function (s) { return ms(s.p50Ns || 0); }) },
    { id: "latency-p99", color: "#8e24aa", values: per.map(function (s) { return ms(s.p99Ns || 0); }) }
  ], function (v) { return v.toFixed(v < 10 ? 1 : 0); });

  // Failures stand out: a red tick under every second that had one.
  var fails = el("g", { id: "failures" });
  per.forEach(function (s, i) {
    if (s.failed > 0) {
      el("rect", { "class": "failure", x: x(t0 + i), y: gap + rateH, width: Math.max(2, x(1) - x(0)), height: 6, fill: "#c62828" }, fails);
    }
  });

  // Pod lanes: starting, ready, terminating, with every event marked.
  var lanes = el("g", { id: "pods" });
  text("pods", { x: left, y: lanesTop - 8 }, lanes);
  var colors = { created: "#bbb", ready: "#81c784", terminating: "#ffb74d" };
  var markers = 0;
  pods.forEach(function (p, row) {
    var y = lanesTop + row * laneH;
    text(p.name, { x: left - 6, y: y + 11, "text-anchor": "end" }, lanes);
    var state = null, from = 0;
    function seg(to) {
      if (state) { el("rect", { x: x(from), y: y + 2, width: Math.max(1, x(to) - x(from)), height: laneH - 4, fill: colors[state] }, lanes); }
    }
    p.events.forEach(function (e) {
      var t = sec(e.atNs), next = null;
      if (e.kind === "created") { next = "created"; }
      if (e.kind === "ready" && state !== "terminating") { next = "ready"; }
      if (e.kind === "terminating") { next = "terminating"; }
      if (e.kind === "exited") { seg(t); state = null; }
      if (next) { seg(t); state = next; from = t; }
    });
    seg(end);
    p.events.forEach(function (e) {
      var c = el("circle", { "class": "event", "data-kind": e.kind, cx: x(sec(e.atNs)), cy: y + laneH / 2, r: 3,
        fill: e.kind === "problem" || e.kind === "sigkill" ? "#b3261e" : "#333" }, lanes);
      el("title", {}, c).textContent = e.kind + (e.detail ? ": " + e.detail : "") + " at " + sec(e.atNs).toFixed(2) + " s";
      markers++;
    });
  });

  // Rollouts: a line at each start and end, across every panel.
  var ro = el("g", { id: "rollouts" });
  (R.rollouts || []).forEach(function (r, i) {
    [r.startNs, r.startNs + r.durationNs].forEach(function (ns, j) {
      el("line", { "class": "rollout", x1: x(sec(ns)), x2: x(sec(ns)), y1: gap - 4, y2: H - 24, stroke: "#555", "stroke-dasharray": j ? "2,3" : "6,3" }, ro);
    });
    text("rollout " + (i + 1), { x: x(sec(r.startNs)) + 3, y: gap + 10 }, ro);
  });

  // Time axis.
  var axis = el("g", { id: "time-axis" });
  var step = end > 120 ? 20 : end > 40 ? 10 : 5;
  for (var t = 0; t <= end; t += step) {
    text(t + " s", { x: x(t), y: H - 8, "text-anchor": "middle" }, axis);
  }
  document.getElementById("chart-status").textContent =
    "chart: " + per.length + " seconds of load, " + pods.length + " lanes, " + markers + " events";
})();
</script>
</body>
</html>
`))
