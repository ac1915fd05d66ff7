#!/usr/bin/env bash
# The highest request rate at which `zdgen rehearse` of each example stays
# at zero failures on this machine, beside the naive failure rate at that
# rate; writes the "Rehearsal" section of BENCHMARKS.md.
#
#   bench/rehearse.sh             # about 15 minutes on 2 cores
#   RATES="500 1000" bench/rehearse.sh
#
# Not a test: the ceiling is the machine's (the service, the proxy and the
# load client share its cores), not the service's. Connections scale with
# the rate as in the generated load test (500 requests/s over 50 connections, so
# 10 requests/s each); every rehearsal is 3 replicas and 3 rollouts. The
# rates are tried in order and the search stops at the first one with a
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v jq >/dev/null || { echo "bench: jq is not installed (Debian: jq)" >&2; exit 2; }
RATES=${RATES:-500 1000 2000 4000 6000 8000}
say() { printf '== %s\n' "$*" >&2; }

go build -o "$work/zdgen" ./cmd/zdgen

# rehearse EXAMPLE RATE [--naive]: prints "total failed achieved" of one
# rehearsal, achieved being the rate the load client really sent (it falls
# behind its schedule when the machine is saturated).
rehearse() {
  local ex=$1 rate=$2; shift 2
  local conns=$(( rate / 10 ))
  "$work/zdgen" rehearse "examples/$ex" --rate "$rate" --conns "$conns" --replicas 3 --rollouts 3 --json "$@" \
    >"$work/out.json" 2>"$work/progress.log" || true
  jq -r '"\(.load.total) \(.load.failed) \(.load.total * 1e9 / .load.elapsedNs | floor)"' "$work/out.json" 2>/dev/null || echo "0 -1 0"
}

rows=""
for ex in http-greeter grpc-worker; do
  best=0 best_total=0 best_achieved=0
  for rate in $RATES; do
    read -r total failed achieved < <(rehearse "$ex" "$rate")
    say "$ex at $rate/s over $(( rate / 10 )) connections (sent $achieved/s): $failed of $total failed"
    [ "$failed" = 0 ] || break
    best=$rate best_total=$total best_achieved=$achieved
  done
  if [ "$best" = 0 ]; then
    rows+="| $ex | none | | |"$'\n'
    continue
  fi
  read -r ntotal nfailed _ < <(rehearse "$ex" "$best" --naive)
  say "$ex naive at $best/s: $nfailed of $ntotal failed"
  pct=$(awk -v f="$nfailed" -v t="$ntotal" 'BEGIN { printf "%.1f", (t > 0) ? 100 * f / t : 0 }')
  rows+="| $ex | $best/s over $(( best / 10 )) connections (sent $best_achieved/s; $best_total requests, 0 failed) | $nfailed of $ntotal ($pct %) | $( [ "$rate" = "$best" ] && echo "not reached (highest tried)" || echo "$rate/s" ) |"$'\n'
done

section="<!-- rehearse: begin (bench/rehearse.sh writes this section; bench/run.sh keeps it) -->
## Rehearsal

\`bench/rehearse.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, shared with other work): the highest
rate tried (of $RATES requests/s, connections = rate / 10) at which
\`zdgen rehearse examples/EXAMPLE --rate R --conns R/10 --replicas 3 --rollouts 3\`
saw no failed request, and the same rehearsal with \`--naive\` at that rate.
\"Sent\" is the rate the load client achieved: below the target, the machine
(service, proxy and client on the same cores) was saturated, not failing.

| example | highest zero-failure rate | naive at that rate: failed | first failing rate |
|---|---|---|---|
${rows}<!-- rehearse: end -->"

if grep -q '<!-- rehearse: begin' BENCHMARKS.md; then
  awk -v s="$section" '/<!-- rehearse: begin/ { print s; skip = 1; next } /<!-- rehearse: end -->/ { skip = 0; next } !skip' \
    BENCHMARKS.md >"$work/b.md"
  cp "$work/b.md" BENCHMARKS.md
else
  printf '\n%s\n' "$section" >>BENCHMARKS.md
fi
say "wrote the Rehearsal section of BENCHMARKS.md"
printf '%s\n' "$section"
