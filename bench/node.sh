#!/usr/bin/env bash
# Zero downtime on a real Kubernetes cluster, in figures: brings the three
# nodes of test/cluster/run.sh up once, runs its tests (both protocols: the
# probe and preStop forms with each pod's termination timed, 10 rolling
# restarts under load with every node's propagation lag measured, a
# deletion and an eviction, a SIGKILL, two nodes drained one after the
# other, a node cut off, and the naive rollouts), then steps the
# rate up (3 rollouts at each) to find the highest rate that still loses
# nothing, and writes the "Real cluster" section of BENCHMARKS.md.
#
#   bench/node.sh                        # about 35 minutes on 2 cores, as root
#   RATES="1000 2000" bench/node.sh
#
# Not a test: the ceiling is this machine's (the node's components, the
# services and both load clients share its two cores). RATES are per load
# client; two clients run at once (a Job in the cluster on one node and a
# process on another), so the Service takes twice the rate. The search stops at the
# first rate with a failure, or when the load clients fall well behind
# their schedule (the machine is saturated before the rollout fails).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "bench: jq is not installed (Debian: jq)" >&2; exit 2; }
export RATES=${RATES:-500 1000 1500 2000 3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BENCH_WORK=$work
say() { printf '== %s\n' "$*" >&2; }

# Inside the node's lifetime: the tests at the default rate, then the
# search. Each go test run writes its figures as JSON.
cat >"$work/inner.sh" <<'EOF'
#!/usr/bin/env bash
set -uo pipefail
ZDGEN_NODE_LOSS=1 ZDGEN_NODE_RESULTS=$BENCH_WORK/tests.json go test -count=1 -v -timeout 40m -run '^TestNode' ./test/cluster \
  >"$BENCH_WORK/tests.log" 2>&1
echo $? >"$BENCH_WORK/tests.rc"
for rate in $RATES; do
  ZDGEN_NODE_RESULTS=$BENCH_WORK/rate-$rate.json ZDGEN_NODE_RATE=$rate ZDGEN_NODE_ROLLOUTS=3 \
    go test -count=1 -v -timeout 20m -run '^TestNodeRollouts$/^(http|grpc)$/^rollouts$' ./test/cluster \
    >"$BENCH_WORK/rate-$rate.log" 2>&1
  # Stop when both protocols failed, or fell behind, at this rate.
  jq -e --argjson rate "$rate" '[.rollouts[] | (.protected | map(.failed) | add) == 0
      and (.protected | all(.total / (.elapsedNs / 1e9) >= 0.9 * $rate))] | any' \
    "$BENCH_WORK/rate-$rate.json" >/dev/null 2>&1 || break
done
exit 0
EOF
chmod +x "$work/inner.sh"

say "bringing the cluster up and running its tests (about 15 minutes), then the rate search"
test/cluster/run.sh "$work/inner.sh" 2>&1 | tee "$work/node.log" >&2
ready=$(sed -n 's/.* nodes Ready in \([0-9]*\)s.*/\1/p' "$work/node.log")
[ "$(cat "$work/tests.rc" 2>/dev/null)" = 0 ] || {
  tail -n 60 "$work/tests.log" >&2
  echo "bench: the real-cluster tests failed; no figures written" >&2
  exit 1
}

t=$work/tests.json
fmt() { jq -r "$1" "$t"; }
# Per protocol: requests and failures through the 10 rollouts (in the
# cluster + on the node), rollout times, deletion/eviction, SIGKILL, naive.
rows=$(jq -r '.rollouts[] |
  def sum(f): map(f) | add;
  def pct(a; b): if b > 0 then (1000 * a / b | round) / 10 else 0 end;
  "| \(.protocol) | \(.ratePerClient)/s x 2 | \(.rollouts): \(.rolloutSeconds | min * 10 | round / 10)–\(.rolloutSeconds | max * 10 | round / 10) s (mean \(.rolloutSeconds | add / length * 10 | round / 10) s) | \(.protected | sum(.total)) / \(.protected | sum(.failed)) | \(.faults | sum(.total)) / \(.faults | sum(.failed)) | \(.killed | sum(.failed)) of \(.killed | sum(.total)) | \(.naive | sum(.failed)) of \(.naive | sum(.total)) (\(pct(.naive | sum(.failed); .naive | sum(.total))) %) |"' "$t")
nodes=$(jq -r '.nodes | map("\(.name) (\(.proxyMode))") | join(", ")' "$t")
drains=$(jq -r '.rollouts[] |
  def sum(f): map(f) | add;
  def d: "\(.node): \(.pods) pods, \(.seconds * 10 | round / 10) s, \(.refusals) refused";
  "| \(.protocol) | \(.drains | map(d) | join("; ")) | \(.drained | sum(.total)) / \(.drained | sum(.failed)) |"' "$t")
lags=$(jq -r '.rollouts[] | .protocol as $p | .lag[] |
  "| \($p) | \(.node) | \(.proxyMode) | \(.endpoints) | \(.maxSeconds * 100 | round / 100) s | \(.medianSeconds * 100 | round / 100) s |"' "$t")
lost=$(jq -r '.rollouts[] | select(.nodeLost) | .protocol as $p | .nodeLost |
  "| \($p) | \(.node) | \(.pods) | \(.notReadySeconds * 10 | round / 10) s | \(.routedSeconds * 10 | round / 10) s | \(.lostRequests) of \(.requests) |"' "$t")
forms=$(jq -r '.forms[] |
  "| \(.form) | \(.preStopSeconds) s + \(.drainSeconds) s | \(.idleSigtermSeconds * 100 | round / 100) s | \(.idleExitSeconds * 100 | round / 100) s (\(.idleExpectedSeconds) s) | \(.inFlightExitSeconds * 100 | round / 100) s (\(.inFlightExpectedSeconds * 100 | round / 100) s) |"' "$t")
search=""
best_http="none" best_grpc="none"
for rate in $RATES; do
  f=$work/rate-$rate.json
  [ -s "$f" ] || break
  search+=$(jq -r --argjson rate "$rate" '.rollouts[] |
    "| \(.protocol) | \($rate)/s x 2 | \(.protected | map(.total) | add) | \(.protected | map(.failed) | add) | \(.protected | map(.total / (.elapsedNs / 1e9) | floor) | map(tostring) | join(" + ")) /s |"' "$f")$'\n'
  for p in http grpc; do
    ok=$(jq -r --arg p "$p" --argjson rate "$rate" '.rollouts[] | select(.protocol == $p) |
      ((.protected | map(.failed) | add) == 0 and (.protected | all(.total / (.elapsedNs / 1e9) >= 0.9 * $rate)))' "$f")
    if [ "$ok" = true ]; then
      case $p in http) best_http="$rate/s x 2" ;; grpc) best_grpc="$rate/s x 2" ;; esac
    fi
  done
done

section="<!-- node: begin (bench/node.sh writes this section; bench/run.sh keeps it) -->
## Real cluster

\`bench/node.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores): a real Kubernetes
cluster of three nodes on one machine ($("$HOME/.cache/zdgen-test/kubernetes-$(cd test/apiserver && go list -m -f '{{.Version}}' k8s.io/kubernetes)/kubelet" --version 2>/dev/null | awk '{print $2}'),
containerd $(containerd --version | awk '{print $3}'); nodes and kube-proxy modes: ${nodes}) brought up by
\`test/cluster/run.sh\`, services written by \`zdgen new\` on the defaults,
built from their own Dockerfiles and applied from \`deploy/k8s\` with only
the image set. Load: the generated load client twice at once, as a Job in
the cluster on the second node and as a process on the first, both
through the Service's ClusterIP (so through an nftables and an iptables
kube-proxy), 50 connections each, 10 ms of work per request.

Cluster start, from nothing to every node Ready: **${ready} s**.

| protocol | rate | rolling restarts | requests / failed | deletion + eviction: requests / failed | SIGKILL of one container: failed | naive (no preStop, no drain), 2 rollouts: failed |
|---|---|---|---|---|---|---|
${rows}

Node drains under the same load, as a cluster upgrade does them: two
nodes one after the other with \`kubectl drain\` (cordon, evictions through
the Eviction API honouring the PodDisruptionBudget, refusals retried),
each uncordoned once its pods' replacements are ready elsewhere:

| protocol | drains (node: the service's pods on it, time, evictions refused) | requests / failed |
|---|---|---|
${drains}

Propagation lag, per node, over the 10 rolling restarts: from the moment
the Service's EndpointSlice stops listing a pod ready to the end of the
first read of that node's rules (iptables-save or nft, every 200 ms)
without it. The preStop default covers 5 s; the tests require at most
4.5 s (a margin above the probe's own uncertainty, a read every 200 ms).

| protocol | node | kube-proxy | endpoint changes | max | median |
|---|---|---|---|---|---|
${lags}

A node lost (its link cut under load, then restored; measured, not a
zero-downtime claim): its pods keep their endpoints until the node
lifecycle controller marks the node not Ready after its grace period, and
the other nodes' kube-proxies drop them.

| protocol | node | its pods | node not Ready after | others stop routing to its pods after | requests lost |
|---|---|---|---|---|---|
${lost}

Terminating pods, from the deletion request to the service's last log
line (measured; expected from the timing model in brackets): SIGTERM
comes after the preStop hook; an idle pod exits after preStop + drain; a
pod given a 3 s request in the middle of its drain exits when that request
ends.

| form | preStop + drain | SIGTERM after | idle pod exits after | with a request in flight |
|---|---|---|---|---|
${forms}

Highest rate with no failed request through 3 rolling restarts (per
client; rates tried: ${RATES}; the search stops at the first failure or
when the clients fall more than 10 % behind their schedule): HTTP
**${best_http}**, gRPC **${best_grpc}**.

| protocol | rate | requests | failed | achieved (cluster + node) |
|---|---|---|---|---|
${search}<!-- node: end -->"

if grep -q '<!-- node: begin' BENCHMARKS.md; then
  awk -v s="$section" '/<!-- node: begin/ { print s; skip = 1; next } /<!-- node: end -->/ { skip = 0; next } !skip' \
    BENCHMARKS.md >"$work/b.md"
  cp "$work/b.md" BENCHMARKS.md
else
  printf '\n%s\n' "$section" >>BENCHMARKS.md
fi
say "wrote the Real cluster section of BENCHMARKS.md"
printf '%s\n' "$section"
