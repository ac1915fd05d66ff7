#!/usr/bin/env bash
# Bring up one real Kubernetes node on this machine, run a command against
# it, and tear everything down, whatever happens.
#
#   test/cluster/run.sh              # zdgen's real-node tests (TestNode*)
#   test/cluster/run.sh CMD ARGS     # any command, with KUBECONFIG set, e.g.
#   test/cluster/run.sh kubectl get nodes -o wide
#
# Real components, all of them: etcd (Debian), kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy (iptables
# mode, or nftables with ZDGEN_PROXY_MODE=nftables) and kubectl built from the k8s.io/kubernetes version pinned in
# test/apiserver/go.mod, containerd and runc (Debian) behind the kubelet's
# CRI, and the CNI bridge and host-local plugins (Debian). Needs root, and
# the Debian packages that .ci/run installs.
#
# Nothing leaves the machine: before any pod can start, the pod and service
# ranges are routed to a bridge with no ports (a device that goes nowhere),
# packets from the pod range or to the service range are dropped on the way
# out of the machine's uplink, and pods get a resolv.conf that names no
# server off the machine. Load only ever targets ClusterIPs and pod IPs of
# this node.
#
# Binaries are cached in $ZDGEN_TEST_CACHE (default ~/.cache/zdgen-test),
# images in buildah's storage (test/cluster/images.sh): a second run
# builds nothing. State lives in a temporary directory; on every exit
# (Ctrl-C included) the workloads are deleted, every process stopped, and
# the mounts, bridges, routes, iptables chains, cgroups and sysctls this
# script touched are put back as they were.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${ZDGEN_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zdgen-test}

t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }
say() { printf '== node: %s (%s)\n' "$*" "$(elapsed)"; }
die() { printf '== node: FAILED: %s (%s)\n' "$*" "$(elapsed)" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network devices, iptables, containerd, cgroups)"

# --- addresses --------------------------------------------------------------------

# Private ranges that belong to this node alone. The node's address is a
# /32 on a bridge with no ports (the kernel here has no dummy driver),
# outside both ranges.
node_name=zdgen-node
node_ip=10.219.0.1
pod_cidr=10.217.0.0/16     # the cluster's pod range
node_pod_cidr=10.217.0.0/24 # the first /24: what the controller manager gives the only node
service_cidr=10.218.0.0/24
api_service_ip=10.218.0.1
node_bridge=zdgen-node0 # holds the node address
cni_bridge=zdgen-cni0   # the pods' bridge
guard=zdgen-guard       # where anything untranslated is routed: nowhere
# kube-proxy's data plane: iptables (the default) or nftables
# (ZDGEN_PROXY_MODE=nftables; GA since Kubernetes 1.33, needs the kernel's
# nf_tables, and the nft command for the teardown's check).
proxy_mode=${ZDGEN_PROXY_MODE:-iptables}
case "$proxy_mode" in
  iptables|nftables) ;;
  *) echo "== node: ZDGEN_PROXY_MODE=$proxy_mode: want iptables or nftables" >&2; exit 2 ;;
esac
uplink=$(ip -o route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')

# --- build ---------------------------------------------------------------------------

bin=$("$repo/test/apiserver/build.sh") || die "building the Kubernetes components"
version=$("$bin/kubectl" version --client | sed -n 's/^Client Version: //p')
kubectl=$bin/kubectl
for tool in etcd containerd runc buildah ctr conntrack iptables ip openssl mmdebstrap; do
  command -v "$tool" >/dev/null || die "no $tool: apt-get install etcd-server containerd runc containernetworking-plugins iptables conntrack buildah iproute2 openssl mmdebstrap"
done
cni_bin=/usr/lib/cni
for p in bridge host-local portmap loopback; do
  [ -x "$cni_bin/$p" ] || die "no CNI plugin $cni_bin/$p: apt-get install containernetworking-plugins"
done
[ -n "$uplink" ] || die "no default route: cannot tell the uplink to guard"
# kube-proxy's nftables mode programs its rules through the nft command.
[ "$proxy_mode" = iptables ] || command -v nft >/dev/null || die "no nft for kube-proxy's nftables mode: apt-get install nftables"

"$here/images.sh"

# --- state and teardown --------------------------------------------------------------

state=$(mktemp -d "${TMPDIR:-/tmp}/zdgen-node.XXXXXX")
chmod 755 "$state"
pids=() # name=pid, in start order
sysctls=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables)
declare -A saved_sysctl
modprobe br_netfilter 2>/dev/null || true
for s in "${sysctls[@]}"; do saved_sysctl[$s]=$(sysctl -n "$s" 2>/dev/null || echo); done

# stop NAME PID: SIGTERM, then SIGKILL if it has not exited within 15 s.
stop() {
  kill "$2" 2>/dev/null || return 0
  for _ in $(seq 150); do
    kill -0 "$2" 2>/dev/null || { wait "$2" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "== node: $1 ignored SIGTERM for 15 s; killing it" >&2
  kill -KILL "$2" 2>/dev/null || true
  wait "$2" 2>/dev/null || true
}
running() { local p; for p in "${pids[@]}"; do [ "${p%%=*}" = "$1" ] && kill -0 "${p#*=}" 2>/dev/null && return 0; done; return 1; }

teardown() {
  local code=$?
  trap - EXIT INT TERM
  set +e
  say "tearing down"
  # Workloads first, while the kubelet runs: it tears sandboxes down
  # through CNI, which releases their addresses and veths.
  if running kubelet && running kube-apiserver; then
    "$kubectl" delete namespaces -l zdgen.test/node=true --wait=false >/dev/null 2>&1
    "$kubectl" delete pods --all -A --grace-period=1 --wait=false >/dev/null 2>&1
    for _ in $(seq 60); do
      [ -z "$("$kubectl" get pods -A -o name 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  # Components, newest first.
  local i
  for (( i=${#pids[@]}-1; i>=0; i-- )); do
    local name=${pids[i]%%=*} pid=${pids[i]#*=}
    [ "$name" = containerd ] && continue
    stop "$name" "$pid"
  done
  # Containers the kubelet did not get to, then containerd and its shims.
  if running containerd; then
    local ctr_=(ctr --address "$state/containerd.sock" -n k8s.io)
    for t in $("${ctr_[@]}" tasks ls -q 2>/dev/null); do
      "${ctr_[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1
    done
    sleep 0.5
    for t in $("${ctr_[@]}" tasks ls -q 2>/dev/null); do "${ctr_[@]}" tasks delete -f "$t" >/dev/null 2>&1; done
    for t in $("${ctr_[@]}" containers ls -q 2>/dev/null); do "${ctr_[@]}" containers delete "$t" >/dev/null 2>&1; done
    for p in "${pids[@]}"; do [ "${p%%=*}" = containerd ] && stop containerd "${p#*=}"; done
  fi
  # Shims of this containerd only (their command line names its socket).
  pkill -KILL -f "containerd-shim.*-address $state/containerd.sock" 2>/dev/null
  # kube-proxy's rules and chains, then the ones the kubelet and the CNI
  # plugins leave behind.
  [ -x "$bin/kube-proxy" ] && "$bin/kube-proxy" --cleanup >/dev/null 2>&1
  local ipt table chain
  for ipt in iptables ip6tables; do
    for table in filter nat mangle; do
      # Rules in built-in chains that jump to our chains, then the chains.
      "$ipt" -t "$table" -S 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|CNI-)' |
        sed 's/^-A/-D/' | while read -r rule; do eval "$ipt -t $table $rule" 2>/dev/null; done
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 ~ /^CNI-/) {print $2}'); do
        "$ipt" -t "$table" -F "$chain" 2>/dev/null
      done
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 ~ /^CNI-/) {print $2}'); do
        "$ipt" -t "$table" -X "$chain" 2>/dev/null
      done
    done
  done
  # The traffic guard.
  iptables -t mangle -D POSTROUTING -o "$uplink" -s "$pod_cidr" -j DROP 2>/dev/null
  iptables -t mangle -D POSTROUTING -o "$uplink" -d "$service_cidr" -j DROP 2>/dev/null
  ip route del "$service_cidr" dev "$guard" 2>/dev/null
  ip route del "$pod_cidr" dev "$guard" 2>/dev/null
  # Mounts under the state directory (network namespaces, volumes,
  # overlay snapshots), deepest first.
  awk -v s="$state" '$2 ~ "^"s {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  for dev in "$cni_bridge" "$node_bridge" "$guard"; do ip link del "$dev" 2>/dev/null; done
  # The pods' cgroups (cgroupfs driver: kubepods under every hierarchy).
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h/kubepods" ] && find "$h/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  local s
  for s in "${sysctls[@]}"; do
    [ -n "${saved_sysctl[$s]}" ] && sysctl -qw "$s=${saved_sysctl[$s]}" 2>/dev/null
  done
  if [ "$code" != 0 ] && [ -n "${ZDGEN_NODE_KEEP_LOGS:-}" ]; then
    mkdir -p "$ZDGEN_NODE_KEEP_LOGS" && cp "$state"/*.log "$ZDGEN_NODE_KEEP_LOGS/" 2>/dev/null
  fi
  rm -rf "$state"
  # Nothing may be left: check, and fail the run if something is.
  local left=()
  pgrep -f "$state" >/dev/null && left+=("processes: $(pgrep -af "$state" | cut -c1-80 | tr '\n' ';')")
  awk -v s="$state" '$2 ~ "^"s {found = 1} END {exit !found}' /proc/self/mounts && left+=("mounts under $state")
  for dev in "$cni_bridge" "$node_bridge" "$guard"; do
    ip link show "$dev" >/dev/null 2>&1 && left+=("device $dev")
  done
  for ipt in iptables ip6tables; do
    "$ipt-save" 2>/dev/null | grep -qE '^:(KUBE-|CNI-)' && left+=("$ipt chains: $("$ipt-save" | grep -oE '^:(KUBE-|CNI-)[^ ]*' | tr '\n' ' ')")
  done
  # kube-proxy's nftables mode keeps its rules in tables of its own.
  if command -v nft >/dev/null; then
    nft list tables 2>/dev/null | grep -q ' kube-proxy$' && left+=("nftables: $(nft list tables | grep ' kube-proxy$' | tr '\n' ' ')")
  fi
  iptables -t mangle -S POSTROUTING | grep -qE -- "-[sd] ($pod_cidr|$service_cidr) -o $uplink" && left+=("guard rules on $uplink")
  [ -d /sys/fs/cgroup/memory/kubepods ] && left+=("cgroup kubepods")
  if [ ${#left[@]} -gt 0 ]; then
    printf '== node: left behind: %s\n' "${left[@]}" >&2
    [ "$code" = 0 ] && code=1
  fi
  say "torn down"
  exit "$code"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD ARGS: run a component in the background, logging to
# $state/NAME.log.
start() {
  local name=$1; shift
  "$@" >"$state/$name.log" 2>&1 &
  pids+=("$name=$!")
}
show_log() { echo "-- last lines of $1's log:" >&2; tail -n 40 "$state/$1.log" >&2 || true; }
# wait_for WHAT SECONDS CMD...: poll until CMD succeeds, checking that every
# component is still up.
wait_for() {
  local what=$1 limit=$2; shift 2
  local started p
  started=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    for p in "${pids[@]}"; do
      kill -0 "${p#*=}" 2>/dev/null || { show_log "${p%%=*}"; die "${p%%=*} exited while waiting for $what"; }
    done
    [ $(( $(date +%s) - started )) -lt "$limit" ] || die "$what not within $limit s"
    sleep 0.2
  done
}

# --- the traffic guard: before anything can start a pod ---------------------------

say "guarding traffic: $pod_cidr and $service_cidr go nowhere, and never out of $uplink"
ip link add "$guard" type bridge
ip link set "$guard" up
ip route add "$service_cidr" dev "$guard"
ip route add "$pod_cidr" dev "$guard" # the node's /24 on $cni_bridge is more specific
iptables -t mangle -I POSTROUTING -o "$uplink" -s "$pod_cidr" -j DROP
iptables -t mangle -I POSTROUTING -o "$uplink" -d "$service_cidr" -j DROP
ip link add "$node_bridge" type bridge
ip addr add "$node_ip/32" dev "$node_bridge"
ip link set "$node_bridge" up
sysctl -qw net.bridge.bridge-nf-call-iptables=1 # kube-proxy's rules see bridged pod traffic
printf 'nameserver 127.0.0.1\n' >"$state/resolv.conf" # no DNS server off the machine

# --- certificates ------------------------------------------------------------------

say "making certificates"
(
  cd "$state"
  . "$repo/test/apiserver/certs.sh"
  ca zdgen-node-ca
  client="extendedKeyUsage=clientAuth"
  cert apiserver /CN=kube-apiserver "subjectAltName=IP:$node_ip,IP:$api_service_ip,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
  cert kubelet-serving "/CN=$node_name" "subjectAltName=IP:$node_ip,DNS:$node_name
extendedKeyUsage=serverAuth"
  cert admin /O=system:masters/CN=zdgen-admin "$client"
  cert apiserver-kubelet-client /O=system:masters/CN=kube-apiserver-kubelet-client "$client"
  cert kubelet "/O=system:nodes/CN=system:node:$node_name" "$client"
  cert kube-proxy /CN=system:kube-proxy "$client"
  cert controller-manager /CN=system:kube-controller-manager "$client"
  cert scheduler /CN=system:kube-scheduler "$client"
  key sa.key
  openssl pkey -in sa.key -pubout -out sa.pub
) || die "making certificates with openssl"

# kubeconfig NAME: a kubeconfig for the identity NAME.crt/NAME.key.
kubeconfig() {
  cat >"$state/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: zdgen-node
    cluster:
      server: https://$node_ip:6443
      certificate-authority: $state/ca.crt
users:
  - name: $1
    user:
      client-certificate: $state/$1.crt
      client-key: $state/$1.key
contexts:
  - name: zdgen-node
    context: {cluster: zdgen-node, user: $1}
current-context: zdgen-node
EOF
}
for id in admin kubelet kube-proxy controller-manager scheduler; do kubeconfig "$id"; done

# --- control plane -------------------------------------------------------------------

free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
etcd_port=$(free_port)
peer_port=$(free_port)
say "starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler $version"
start etcd etcd --name zdgen-node --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "zdgen-node=http://127.0.0.1:$peer_port"
wait_for "etcd" 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$etcd_port"

start kube-apiserver "$bin/kube-apiserver" \
  --bind-address="$node_ip" --advertise-address="$node_ip" --secure-port=6443 \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --cert-dir="$state" --tls-cert-file="$state/apiserver.crt" --tls-private-key-file="$state/apiserver.key" \
  --client-ca-file="$state/ca.crt" \
  --kubelet-client-certificate="$state/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$state/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$state/sa.pub" --service-account-signing-key-file="$state/sa.key" \
  --service-cluster-ip-range="$service_cidr" \
  --allow-privileged=false
export KUBECONFIG=$state/admin.kubeconfig
wait_for "kube-apiserver /readyz" 90 "$kubectl" get --raw=/readyz

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig="$state/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$state/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$state/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$state/sa.key" --root-ca-file="$state/ca.crt" \
  --cluster-signing-cert-file="$state/ca.crt" --cluster-signing-key-file="$state/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr="$pod_cidr" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$service_cidr"
start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig="$state/scheduler.kubeconfig" \
  --authentication-kubeconfig="$state/scheduler.kubeconfig" \
  --authorization-kubeconfig="$state/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false

# --- containerd -----------------------------------------------------------------------

mkdir -p "$state/cni/net.d" "$state/cni/data"
cat >"$state/cni/net.d/10-zdgen.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "zdgen",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$cni_bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$node_pod_cidr"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$state/cni/data"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
cat >"$state/containerd.toml" <<EOF
version = 2
root = "$state/containerd/root"
state = "$state/containerd/state"
[grpc]
  address = "$state/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/zdgen-pause:1"
  # This machine withholds CAP_SYS_RESOURCE, so runc cannot lower
  # oom_score_adj (the CRI asks -998 for the sandbox): without this every
  # sandbox fails to start.
  restrict_oom_score_adj = true
  tolerate_missing_hugetlb_controller = true
  disable_hugetlb_controller = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$state/cni/net.d"
    max_conf_num = 1
EOF
say "starting containerd $(containerd --version | awk '{print $3}') and importing the sandbox image"
start containerd containerd --config "$state/containerd.toml"
ctr=(ctr --address "$state/containerd.sock" -n k8s.io)
wait_for "containerd" 30 "${ctr[@]}" version
buildah push --quiet localhost/zdgen-pause:1 "oci-archive:$state/pause.tar:localhost/zdgen-pause:1" >/dev/null
"${ctr[@]}" images import --base-name localhost/zdgen-pause "$state/pause.tar" >/dev/null
rm -f "$state/pause.tar"

# --- kubelet and kube-proxy ----------------------------------------------------------

cat >"$state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: $state/kubelet-serving.crt
tlsPrivateKeyFile: $state/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $state/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$state/containerd.sock
podLogsDir: $state/pod-logs
resolvConf: $state/resolv.conf
# No clusterDNS: no DNS add-on runs, and pods must not reach a server off
# the machine.
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
say "starting the kubelet"
start kubelet "$bin/kubelet" --config="$state/kubelet.yaml" --kubeconfig="$state/kubelet.kubeconfig" \
  --root-dir="$state/kubelet" --hostname-override="$node_name" --node-ip="$node_ip"
wait_for "node $node_name registered" 60 "$kubectl" get node "$node_name"

cat >"$state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: $proxy_mode
clientConnection: {kubeconfig: $state/kube-proxy.kubeconfig}
hostnameOverride: $node_name
bindAddress: $node_ip
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $pod_cidr
nodePortAddresses: ["$node_ip/32"]
# Leave the host's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
say "starting kube-proxy ($proxy_mode mode)"
start kube-proxy "$bin/kube-proxy" --config="$state/kube-proxy.yaml" --v=2 # v=2: each sync and its duration

node_ready() {
  [ "$("$kubectl" get node "$node_name" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_for "node $node_name Ready" 120 node_ready
wait_for "the default service account" 60 "$kubectl" get serviceaccount default -n default
say "node $node_name Ready in $(( $(date +%s) - t0 ))s from the start of this script"

# --- the command ----------------------------------------------------------------------

# For the tests, which skip without a node.
export ZDGEN_NODE_KUBECONFIG=$KUBECONFIG ZDGEN_NODE_KUBECTL=$kubectl
export ZDGEN_NODE_CONTAINERD=$state/containerd.sock ZDGEN_NODE_STATE=$state
export ZDGEN_NODE_UPLINK=$uplink ZDGEN_NODE_GUARD=$guard
export ZDGEN_NODE_POD_CIDR=$pod_cidr ZDGEN_NODE_SERVICE_CIDR=$service_cidr
if [ $# -gt 0 ]; then
  "$@" || die "$* exited $?"
else
  say "zdgen's real-node tests"
  if ! (cd "$repo" && go test -count=1 -v -timeout 40m -run '^TestNode' ./test/cluster) 2>&1 | tee "$state/test.log"; then
    die "the real-node tests failed"
  fi
  if grep -q -e '--- SKIP' "$state/test.log" || ! grep -q -e '^--- PASS: TestNode' "$state/test.log"; then
    die "the real-node tests did not run"
  fi
fi
say "done"
