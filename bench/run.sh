#!/usr/bin/env bash
# Benchmarks for zdgen and the services it generates; writes BENCHMARKS.md.
#
#   bench/run.sh            # about 4 minutes on 2 cores
#
# Not a test: the numbers depend on the machine. Each figure is measured
# beside its baseline in the same run, so the ratios carry over even when
# the absolute numbers do not. Needs hyperfine, cookiecutter and GNU time
# (Debian: hyperfine cookiecutter time), fortio and ghz (go install
# fortio.org/fortio@v1.68.2 github.com/bojand/ghz/cmd/ghz@v0.121.0).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export PATH="$(go env GOPATH)/bin:$PATH"
for tool in hyperfine cookiecutter fortio ghz /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (see the top of $0)" >&2; exit 2; }
done
say() { printf '== %s\n' "$*" >&2; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

say "build zdgen"
go build -trimpath -ldflags "-s -w" -o "$work/zdgen" ./cmd/zdgen
"$work/zdgen" new svc --yes --output "$work/http" >/dev/null
"$work/zdgen" new svc --yes --protocol grpc --output "$work/grpc" >/dev/null
# The serving benchmark's other variants: without metrics (the service as
# it was before them), and with tracing as well.
for kind in http grpc; do
  "$work/zdgen" new svc --yes --protocol $kind --metrics=false --output "$work/$kind-plain" >/dev/null
  "$work/zdgen" new svc --yes --protocol $kind --tracing otlp --output "$work/$kind-otlp" >/dev/null
done

say "the cookiecutter baseline: the same HTTP tree as a cookiecutter template"
python3 - "$work/http" "$work/cc" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
name = "{{cookiecutter.name}}"
os.makedirs(dst)
json.dump({"name": "svc"}, open(os.path.join(dst, "cookiecutter.json"), "w"))
for d, _, files in os.walk(src):
    for f in files:
        rel = os.path.relpath(os.path.join(d, f), src).replace("svc", name)
        out = os.path.join(dst, name, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        text = open(os.path.join(d, f)).read()
        # Go code is full of "{{": keep it raw, render only the name.
        text = "{% raw %}" + text.replace("svc", "{% endraw %}" + name + "{% raw %}") + "{% endraw %}"
        open(out, "w").write(text)
PY
files_http=$(find "$work/http" -type f | wc -l)
files_cc=$(find "$work/cc/{{cookiecutter.name}}" -type f | wc -l)

say "generation time (hyperfine, 20 runs each)"
hyperfine -N --warmup 3 --runs 20 --export-json "$work/gen.json" \
  --prepare "rm -rf $work/g1" "$work/zdgen new svc --yes --output $work/g1" \
  --prepare "rm -rf $work/g2" "$work/zdgen new svc --yes --protocol grpc --output $work/g2" \
  --prepare "rm -rf $work/g3" "cookiecutter --no-input -o $work/g3 $work/cc" >&2
gen_ms() { python3 -c "import json,sys; r=json.load(open('$work/gen.json'))['results'][$1]; print('%.1f' % (r['median']*1000))"; }
t_http=$(gen_ms 0); t_grpc=$(gen_ms 1); t_cc=$(gen_ms 2)

say "peak memory (GNU time, median of 10 runs)"
peak_kb() {
  for _ in $(seq 10); do
    rm -rf "$work/m"
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
  done | median
}
m_http=$(peak_kb "$work/zdgen" new svc --yes --output "$work/m")
m_grpc=$(peak_kb "$work/zdgen" new svc --yes --protocol grpc --output "$work/m")
m_cc=$(peak_kb cookiecutter --no-input -f -o "$work/m" "$work/cc")

say "build the services and their bare baselines"
# Without their first two lines (the build tag that keeps them out of
# zdgen's own module).
for kind in http grpc; do
  mkdir -p "$work/$kind/cmd/bare"
  sed '1,2d' "bench/bare-$kind.go" > "$work/$kind/cmd/bare/main.go"
done
for kind in http grpc; do
  (cd "$work/$kind" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/$kind-svc" ./cmd/svc &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/$kind-bare" ./cmd/bare)
  for v in plain otlp; do
    (cd "$work/$kind-$v" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/$kind-$v-svc" ./cmd/svc)
  done
done
CGO_ENABLED=0 go build -o "$work/otlp-sink" bench/otlp-sink.go

# serve KIND BINARY PORT [VAR=VALUE...]: start a server, wait until it answers.
serve() {
  env PORT=$3 HEALTH_PORT=$(($3 + 1)) "${@:4}" taskset -c 0 "$2" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    if [ "$1" = http ]; then curl -fs "http://127.0.0.1:$3/work?ms=0" >/dev/null && return; else
      ghz --insecure --call svc.v1.WorkService/Work --proto "$work/grpc/api/svc/v1/svc.proto" -n 1 "127.0.0.1:$3" >/dev/null 2>&1 && return; fi
    sleep 0.1
  done
  echo "bench: $2 did not start" >&2; exit 1
}
fortio_qps() { taskset -c 1 fortio load -quiet -qps 0 -c 32 -t 3s -json "$work/f.json" "http://127.0.0.1:$1/work?ms=0" >/dev/null 2>&1
  python3 -c "import json; r=json.load(open('$work/f.json')); assert r['RetCodes'].get('200')==r['DurationHistogram']['Count'], r['RetCodes']; print('%.0f' % r['ActualQPS'])"; }
# A call count, not a duration: ghz -z closes its connection at the end with
# calls still in flight, and counts those as Unavailable.
ghz_rps() { taskset -c 1 ghz --insecure --call svc.v1.WorkService/Work --proto "$work/grpc/api/svc/v1/svc.proto" -d '{"duration_ms":0}' -c 32 -n 40000 --format json "127.0.0.1:$1" > "$work/g.json"
  python3 -c "import json; r=json.load(open('$work/g.json')); assert list(r['statusCodeDistribution'])==['OK'], r['statusCodeDistribution']; print('%.0f' % r['rps'])"; }

say "serving overhead: HTTP with fortio (3 s), gRPC with ghz (40,000 calls); 32 at a time, as fast as possible, in turn, 7 rounds"
# The traced variants export to a local sink, sampling as the generated
# Deployment does (10 % of the traces that start here) and every request.
PORT=18400 taskset -c 1 "$work/otlp-sink" >/dev/null 2>&1 &
pids+=($!)
otel=(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:18400 OTEL_SERVICE_NAME=svc OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)
variants=(bare plain svc otlp10 otlp100)
for kind in http grpc; do
  base=$([ $kind = http ] && echo 18000 || echo 18100)
  serve $kind "$work/$kind-bare" $((base + 10))
  serve $kind "$work/$kind-plain-svc" $((base + 20))
  serve $kind "$work/$kind-svc" $((base + 30))
  serve $kind "$work/$kind-otlp-svc" $((base + 40)) "${otel[@]}" OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1
  serve $kind "$work/$kind-otlp-svc" $((base + 50)) "${otel[@]}" OTEL_TRACES_SAMPLER=parentbased_always_on
done
declare -A runs
for _ in 1 2 3 4 5 6 7; do
  for i in "${!variants[@]}"; do
    runs[http-${variants[$i]}]+="$(fortio_qps $((18010 + 10 * i))) "
    runs[grpc-${variants[$i]}]+="$(ghz_rps $((18110 + 10 * i))) "
  done
done
med() { printf '%s\n' "$@" | median; }
declare -A rate
for k in "${!runs[@]}"; do rate[$k]=$(med ${runs[$k]}); done
hs=${rate[http-svc]}; hb=${rate[http-bare]}; gs=${rate[grpc-svc]}; gb=${rate[grpc-bare]}
sink_stats=$(curl -fs http://127.0.0.1:18400/stats)
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
# ratio_median KIND: the median over the rounds of KIND's throughput over
# the bare server's in the same round. This machine's speed changes between
# rounds (by a third, seen here), which a ratio of medians would count as
# overhead; servers measured back to back see the same speed.
ratio_median() { python3 -c "
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
print('%.1f %%' % (100 * statistics.median(x / y for x, y in zip(a, b))))" "${runs[$1]}" "${runs[${1%%-*}-bare]}"; }
serving_row() { # PROTOCOL KIND LABEL
  printf '| %s | %s | %s %s | %s |\n' "$1" "$3" "${rate[$2]}" "$([ "${2%%-*}" = http ] && echo req/s || echo calls/s)" \
    "$(ratio_median "$2")"
}

say "shutdown: SIGTERM to exit (DRAIN_DELAY=2s, SHUTDOWN_TIMEOUT=10s, grace period 22s)"
# shutdown_s [SLOW_MS]: seconds from SIGTERM to exit, with one request of
# SLOW_MS in flight (sent 0.5 s before the signal) or none.
shutdown_s() {
  PORT=18280 HEALTH_PORT=18281 DRAIN_DELAY=2s SHUTDOWN_TIMEOUT=10s WORK_MAX=10s "$work/http-svc" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -fs http://127.0.0.1:18280/readyz >/dev/null && break; sleep 0.05; done
  if [ -n "${1:-}" ]; then curl -fs -X POST "http://127.0.0.1:18280/work?ms=$1" >/dev/null & sleep 0.5; fi
  local t0; t0=$(date +%s.%N)
  kill -TERM "$pid"; wait "$pid"
  python3 -c "print('%.2f' % ($(date +%s.%N) - $t0))"
}
s_idle=$(shutdown_s); s_slow=$(shutdown_s 5000)

say "sizes (stripped, -trimpath)"
size_mb() { python3 -c "import os; print('%.1f' % (os.path.getsize('$1')/1e6))"; }
z_mb=$(size_mb "$work/zdgen"); hsvc_mb=$(size_mb "$work/http-svc"); gsvc_mb=$(size_mb "$work/grpc-svc")
hplain_mb=$(size_mb "$work/http-plain-svc"); gplain_mb=$(size_mb "$work/grpc-plain-svc")
hotlp_mb=$(size_mb "$work/http-otlp-svc"); gotlp_mb=$(size_mb "$work/grpc-otlp-svc")

ratio() { python3 -c "print('%.2f' % ($1/$2))"; }
pct() { python3 -c "print('%.1f %%' % (100*$1/$2))"; }
# Keep the Rehearsal and Real node sections that bench/rehearse.sh and
# bench/node.sh write.
rehearsal=$(sed -n '/<!-- rehearse: begin/,/<!-- rehearse: end -->/p' BENCHMARKS.md 2>/dev/null || true)
node=$(sed -n '/<!-- node: begin/,/<!-- node: end -->/p' BENCHMARKS.md 2>/dev/null || true)
cat > BENCHMARKS.md <<EOF
# Benchmarks

Measured by \`bench/run.sh\` on $(nproc) cores ($(go version | cut -d' ' -f3), $(date -u +%Y-%m-%d)).
Each figure sits beside the baseline measured in the same run; compare
ratios, not absolute numbers, across machines.

## Generation

\`zdgen new\` writing a whole service (validate, plan, render, write),
against cookiecutter rendering the same HTTP tree ($files_http files) as a
template of $files_cc files. Median of 20 runs (hyperfine, 3 warm-up runs);
peak memory is the median maximum resident set size of 10 runs (GNU time).

| command | median time | peak memory | time vs cookiecutter |
|---|---|---|---|
| \`zdgen new svc --yes\` (HTTP) | $t_http ms | $((m_http / 1024)) MB | $(ratio "$t_http" "$t_cc") x |
| \`zdgen new svc --yes --protocol grpc\` | $t_grpc ms | $((m_grpc / 1024)) MB | $(ratio "$t_grpc" "$t_cc") x |
| \`cookiecutter --no-input\` (baseline) | $t_cc ms | $((m_cc / 1024)) MB | 1 x |

Targets: under 50 ms and 50 MB.

## Serving overhead

A zero-work request (\`/work?ms=0\`, gRPC \`Work{duration_ms: 0}\`) to the
generated service against a bare server with the same handler and nothing
else, same load tool and settings: 32 at a time, as fast as they go
(fortio: 32 connections for 3 s; ghz: 40,000 calls, since with a duration
it closes its connection on calls still in flight and counts them as
Unavailable); every request must succeed. The server runs on one core and
the load tool (and the trace sink) on the other (taskset), so they do not
steal from each other. The servers take turns, seven rounds; the table
shows each one's median throughput, and the median over the rounds of its
throughput over the bare server's in the same round: this machine's speed
changes from round to round, and servers measured back to back see the
same speed. The generated service carries the drain and
panic middleware, the body cap and the logging and panic interceptors,
and by default the Prometheus request metrics; "without metrics" is
\`--metrics=false\`. The traced variants (\`--tracing otlp\`) export over
OTLP/HTTP to a local sink that accepts every batch (bench/otlp-sink.go;
it received $(echo "$sink_stats" | cut -d' ' -f1) exports, $(( $(echo "$sink_stats" | cut -d' ' -f2) / 1000000 )) MB in all), sampling as the generated
Deployment does (\`parentbased_traceidratio\`, 10 %) or every request.

| protocol | server | throughput (median) | vs bare (median of rounds) |
|---|---|---|---|
$(serving_row HTTP http-bare "bare net/http (baseline)")
$(serving_row HTTP http-plain "generated, without metrics")
$(serving_row HTTP http-svc "**generated (default: metrics)**")
$(serving_row HTTP http-otlp10 "generated, metrics + tracing, 10 % sampled")
$(serving_row HTTP http-otlp100 "generated, metrics + tracing, every request")
$(serving_row gRPC grpc-bare "bare grpc-go (baseline)")
$(serving_row gRPC grpc-plain "generated, without metrics")
$(serving_row gRPC grpc-svc "**generated (default: metrics)**")
$(serving_row gRPC grpc-otlp10 "generated, metrics + tracing, 10 % sampled")
$(serving_row gRPC grpc-otlp100 "generated, metrics + tracing, every request")

Tools: fortio 1.68.2 (HTTP), ghz 0.121.0 (gRPC). Target: the default
service at least 95 % of bare. A zero-work request is the worst case for
any per-request cost: a request that does a millisecond of work hides a
few microseconds. Tracing's cost is otelhttp's and otelgrpc's, paid on
every request even when it is not sampled (the span's attributes, context
propagation, wrapped bodies), and on sampled ones the span's export. The
runs, in req/s or calls/s, round by round:

$(for k in http-bare http-plain http-svc http-otlp10 http-otlp100 grpc-bare grpc-plain grpc-svc grpc-otlp10 grpc-otlp100; do printf -- '- %s: %s\n' "$k" "${runs[$k]% }"; done)

## Shutdown

Seconds from SIGTERM to exit of the generated HTTP service with
DRAIN_DELAY=2s and SHUTDOWN_TIMEOUT=10s, whose default grace period is 22 s
(preStop 5 + drain 2 + shutdown timeout 10 + margin 5; preStop runs before
SIGTERM, outside the process).

| case | expected | measured |
|---|---|---|
| no load | the drain delay, 2 s | $s_idle s |
| one request of 5 s in flight, sent 0.5 s before SIGTERM | its remaining time, 4.5 s | $s_slow s |

## Sizes

Stripped (\`-ldflags "-s -w" -trimpath\`, \`CGO_ENABLED=0\`) binaries.

| binary | size |
|---|---|
| zdgen | $z_mb MB |
| generated HTTP service (default: metrics) | $hsvc_mb MB |
| generated HTTP service, without metrics (standard library only) | $hplain_mb MB |
| generated HTTP service, metrics + tracing | $hotlp_mb MB |
| generated gRPC service (default: metrics) | $gsvc_mb MB |
| generated gRPC service, without metrics | $gplain_mb MB |
| generated gRPC service, metrics + tracing | $gotlp_mb MB |
EOF
[ -z "$rehearsal" ] || printf '\n%s\n' "$rehearsal" >> BENCHMARKS.md
[ -z "$node" ] || printf '\n%s\n' "$node" >> BENCHMARKS.md
say "wrote BENCHMARKS.md"
cat BENCHMARKS.md
