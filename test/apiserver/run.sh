#!/usr/bin/env bash
# Start a real kube-apiserver (with etcd) on loopback, run a command against
# it, and stop both.
#
#   test/apiserver/run.sh            # zdgen's server checks (TestAPIServer)
#   test/apiserver/run.sh CMD ARGS   # any command, with KUBECONFIG set, e.g.
#   test/apiserver/run.sh go test -run 'TestAPIServerRejects/maxSurge' ./generator
#
# kube-apiserver and kubectl are built by build.sh from the versions pinned
# in this folder's go.mod (with the node components that test/cluster runs),
# once per machine, outside the checkout. etcd
# is Debian's etcd-server (`apt-get install etcd-server`), or $ETCD. The
# Prometheus Operator's ServiceMonitor CRD is installed before the command
# runs, from the operator's module (`go mod download`).
# Everything else (certificates, etcd's data, logs, the kubeconfig) lives in
# a temporary directory that is removed on exit, with both servers stopped:
# the API server first, so it never runs without its storage. (Ctrl-C stops
# everything at once; a SIGTERM to this script alone takes effect when the
# command it is running returns.)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }
say() { printf '== apiserver: %s (%s)\n' "$*" "$(elapsed)"; }
die() { printf '== apiserver: FAILED: %s (%s)\n' "$*" "$(elapsed)" >&2; exit 1; }

# --- build ---------------------------------------------------------------

bin=$("$here/build.sh") || die "building the Kubernetes components"
version=$("$bin/kubectl" version --client | sed -n 's/^Client Version: //p')
kubectl=$bin/kubectl
etcd=${ETCD:-$(command -v etcd || true)}
[ -n "$etcd" ] || die "no etcd: apt-get install etcd-server, or set ETCD"

# --- temporary directory and clean-up ------------------------------------

tmp=$(mktemp -d)
apiserver_pid='' etcd_pid=''
# stop PID NAME: SIGTERM, then SIGKILL if it has not exited within 10 s.
stop() {
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "== apiserver: $2 ignored SIGTERM for 10 s; killing it" >&2
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  stop "$apiserver_pid" kube-apiserver
  stop "$etcd_pid" etcd
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# show_log NAME: the end of a server's log, after it failed.
show_log() {
  echo "-- last lines of $1's log:" >&2
  tail -n 30 "$tmp/$1.log" >&2 || true
}

# free_port: a random high port that nothing on loopback answers on.
taken=' '
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 40000 ))
    case "$taken" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken+="$p "
      echo "$p"
      return
    fi
  done
}

# --- certificates ----------------------------------------------------------

# A CA; a serving certificate for 127.0.0.1; an admin client certificate in
# system:masters, which RBAC lets do anything; and the service-account key
# pair the API server requires (it signs and checks tokens with it).
say "making certificates"
(
  cd "$tmp"
  . "$here/certs.sh"
  ca zdgen-test-ca
  cert serving /CN=kube-apiserver "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
  cert admin /O=system:masters/CN=zdgen-admin "extendedKeyUsage=clientAuth"
  key sa.key
  openssl pkey -in sa.key -pubout -out sa.pub
) || die "making certificates with openssl"

# --- etcd ------------------------------------------------------------------

etcd_port=$(free_port)
peer_port=$(free_port)
say "starting etcd $("$etcd" --version | sed -n 's/^etcd Version: //p') on 127.0.0.1:$etcd_port"
"$etcd" --name zdgen --data-dir "$tmp/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "zdgen=http://127.0.0.1:$peer_port" \
  >"$tmp/etcd.log" 2>&1 &
etcd_pid=$!
# The API server retries etcd, but a storage that never comes up is then
# reported as a readiness timeout: wait for etcd's port here instead.
started=$(date +%s)
until (exec 3<>"/dev/tcp/127.0.0.1/$etcd_port") 2>/dev/null; do
  kill -0 "$etcd_pid" 2>/dev/null || { show_log etcd; die "etcd exited"; }
  [ $(( $(date +%s) - started )) -lt 30 ] || { show_log etcd; die "etcd not listening within 30 s"; }
  sleep 0.1
done

# --- kube-apiserver ----------------------------------------------------------

port=$(free_port)
say "starting kube-apiserver $version on 127.0.0.1:$port"
# A bare control plane: no controller manager, so the ServiceAccount
# admission plugin (which waits for each namespace's default service
# account) is off; manifests are only ever dry-run here. The advertised
# address only goes into the kubernetes Service's endpoints, which refuse
# loopback: a documentation address (TEST-NET-1) keeps that error out of
# the log.
"$bin/kube-apiserver" \
  --bind-address=127.0.0.1 --advertise-address=192.0.2.1 --secure-port="$port" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --cert-dir="$tmp" \
  --tls-cert-file="$tmp/serving.crt" --tls-private-key-file="$tmp/serving.key" \
  --client-ca-file="$tmp/ca.crt" \
  --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$tmp/sa.pub" \
  --service-account-signing-key-file="$tmp/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --disable-admission-plugins=ServiceAccount \
  >"$tmp/kube-apiserver.log" 2>&1 &
apiserver_pid=$!

export KUBECONFIG=$tmp/kubeconfig
cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: zdgen
    cluster:
      server: https://127.0.0.1:$port
      certificate-authority: $tmp/ca.crt
users:
  - name: admin
    user:
      client-certificate: $tmp/admin.crt
      client-key: $tmp/admin.key
contexts:
  - name: zdgen
    context: {cluster: zdgen, user: admin, namespace: default}
current-context: zdgen
EOF

# Ready means /readyz passes (etcd reachable, bootstrap done) and the
# default namespace, which the manifests land in, exists.
started=$(date +%s)
until "$kubectl" get --raw=/readyz >/dev/null 2>&1 &&
  "$kubectl" get namespace default >/dev/null 2>&1; do
  kill -0 "$etcd_pid" 2>/dev/null || { show_log etcd; die "etcd exited"; }
  kill -0 "$apiserver_pid" 2>/dev/null || { show_log kube-apiserver; die "kube-apiserver exited"; }
  if [ $(( $(date +%s) - started )) -ge 60 ]; then
    "$kubectl" get --raw='/readyz?verbose' >&2 || true
    show_log kube-apiserver
    die "kube-apiserver not ready within 60 s"
  fi
  sleep 0.2
done
say "ready in $(( $(date +%s) - started ))s: $("$kubectl" version | tr '\n' ' ')"

# --- the Prometheus Operator's ServiceMonitor CRD ---------------------------------

# With --service-monitor zdgen writes a ServiceMonitor; with the operator's
# own CustomResourceDefinition installed, the server validates it against
# the operator's schema as it validates the built-in kinds. The CRD comes
# from the operator's main module through the module proxy (checked against
# the checksum database); v0.94.0 is that module's newest release the proxy
# serves (test/schema decodes with the v0.95.2 API types).
prometheus_operator=v0.94.0
say "installing the ServiceMonitor CRD of prometheus-operator $prometheus_operator"
operator_dir=$(cd "$tmp" && go mod download -json "github.com/prometheus-operator/prometheus-operator@$prometheus_operator" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
crd=$operator_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
[ -n "$operator_dir" ] && [ -f "$crd" ] || die "downloading prometheus-operator $prometheus_operator for its ServiceMonitor CRD"
"$kubectl" create -f "$crd" >/dev/null || die "creating the ServiceMonitor CRD"
"$kubectl" wait --for condition=established --timeout=60s crd/servicemonitors.monitoring.coreos.com >/dev/null ||
  die "the ServiceMonitor CRD not established within 60 s"

# --- the check ------------------------------------------------------------------

# For zdgen's tests, which skip without a server (and may find another
# kubectl first on PATH).
export ZDGEN_KUBECONFIG=$KUBECONFIG ZDGEN_KUBECTL=$kubectl
if [ $# -gt 0 ]; then
  "$@" || die "$* exited $?"
else
  say "server-side dry-run of zdgen's manifests"
  # -v shows each check and the server's messages; it also shows that the
  # tests ran rather than skipped.
  if ! (cd "$repo" && go test -count=1 -v -run '^TestAPIServer' ./generator ./rehearse/kube) 2>&1 | tee "$tmp/test.log"; then
    die "the server checks failed"
  fi
  if grep -q -e '--- SKIP' "$tmp/test.log" || ! grep -q -e '^--- PASS: TestAPIServer' "$tmp/test.log"; then
    die "the server checks did not run"
  fi
fi
say "done"
