#!/usr/bin/env bash
# Bring up a real Kubernetes cluster of three nodes on this machine, run a
# command against it, and tear everything down, whatever happens.
#
#   test/cluster/run.sh              # zdgen's real-node tests (TestNode*)
#   test/cluster/run.sh CMD ARGS     # any command, with KUBECONFIG set, e.g.
#   test/cluster/run.sh kubectl get nodes -o wide
#
# Real components, all of them: etcd (Debian), kube-apiserver,
# kube-controller-manager, kube-scheduler, and on every node a kubelet, a
# kube-proxy and a containerd of its own; kubectl and the Kubernetes
# components are built from the k8s.io/kubernetes version pinned in
# test/apiserver/go.mod, containerd and runc are Debian's, behind each
# kubelet's CRI, with the CNI bridge and host-local plugins (Debian). Needs
# root, and the Debian packages that .ci/run installs.
#
# The nodes: zdgen-node runs in the machine's own network namespace (with
# the control plane); zdgen-node-b and zdgen-node-c each run in a network
# namespace of their own, joined to the first by a veth on the bridge that
# holds the node addresses, the way kind isolates nodes but without node
# images: each has its own containerd (root, state, socket, runc root), its
# own kubelet (root dir, cgroup root, pod logs dir), its own pods' bridge
# and address range (from the controller manager's --allocate-node-cidrs)
# and its own kube-proxy, whose rules live in that namespace. Routes join
# the nodes' pod ranges. ZDGEN_NODES=1 or 2 brings up fewer nodes.
# kube-proxy's data plane is chosen per node: ZDGEN_PROXY_MODES lists one
# mode per node, iptables or nftables (default "iptables nftables
# iptables": every test's traffic crosses both).
#
# Nothing leaves the machine: before any pod can start, the pod and service
# ranges are routed to a bridge with no ports (a device that goes nowhere)
# on the machine and in every node's namespace, the nodes' namespaces have
# no default route at all, packets from the pod range or the node range or
# to the service range are dropped on the way out of the machine's uplink,
# and pods get a resolv.conf that names no server off the machine. Load
# only ever targets ClusterIPs, pod IPs and node addresses of this cluster.
#
# Binaries are cached in $ZDGEN_TEST_CACHE (default ~/.cache/zdgen-test),
# images in buildah's storage (test/cluster/images.sh): a second run
# builds nothing. State lives in a temporary directory; on every exit
# (Ctrl-C included) the workloads are deleted, every process stopped, and
# the mounts, bridges, routes, iptables chains, cgroups and sysctls this
# script touched are put back as they were, and the nodes' network
# namespaces deleted.
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

# Private ranges that belong to this cluster alone. The node addresses are
# in node_net: the first node's is on a bridge with no uplink (zdgen-node0),
# which the other nodes' veths join; each node's pods get a /24 of pod_cidr
# from the controller manager as the node registers.
node_count=${ZDGEN_NODES:-3}
case "$node_count" in
  1|2|3) ;;
  *) echo "== node: ZDGEN_NODES=$node_count: want 1, 2 or 3" >&2; exit 2 ;;
esac
all_names=(zdgen-node zdgen-node-b zdgen-node-c)
all_ips=(10.219.0.1 10.219.0.2 10.219.0.3)
node_net=10.219.0.0/24
pod_cidr=10.217.0.0/16     # the cluster's pod range
service_cidr=10.218.0.0/24
api_service_ip=10.218.0.1
api_ip=${all_ips[0]}       # the API server listens on the first node's address
node_bridge=zdgen-node0    # holds the first node's address; the others' veths join it
cni_bridge=zdgen-cni0      # each node's pods' bridge (one per network namespace)
guard=zdgen-guard          # where anything untranslated is routed: nowhere
# kube-proxy's data plane, one per node: iptables or nftables (GA since
# Kubernetes 1.33, needs the kernel's nf_tables and the nft command).
# ZDGEN_PROXY_MODE=M sets every node's.
if [ -n "${ZDGEN_PROXY_MODE:-}" ]; then
  default_modes="$ZDGEN_PROXY_MODE $ZDGEN_PROXY_MODE $ZDGEN_PROXY_MODE"
else
  default_modes="iptables nftables iptables"
fi
read -r -a all_modes <<<"${ZDGEN_PROXY_MODES:-$default_modes}"
names=() ips=() netns=() modes=()
for (( i = 0; i < node_count; i++ )); do
  case "${all_modes[i]:-}" in
    iptables|nftables) ;;
    *) echo "== node: ZDGEN_PROXY_MODES=\"${all_modes[*]}\": node $(( i + 1 )) has '${all_modes[i]:-}', want iptables or nftables" >&2; exit 2 ;;
  esac
  names+=("${all_names[i]}") ips+=("${all_ips[i]}") modes+=("${all_modes[i]}")
  # The first node runs in the machine's network namespace, the others in
  # namespaces of their own, named after them.
  if [ "$i" = 0 ]; then netns+=(""); else netns+=("${all_names[i]}"); fi
done
uplink=$(ip -o route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')

# on I CMD...: run CMD in node I's network namespace. nsenter enters the
# network namespace only (ip netns exec would also make a mount namespace,
# and the kubelet's volume mounts would be invisible to containerd).
on() {
  local i=$1; shift
  if [ -z "${netns[i]}" ]; then "$@"; else nsenter --net="/run/netns/${netns[i]}" "$@"; fi
}
# in_node I: sets in_ns to the command prefix that runs a component in
# node I's network namespace (nsenter execs it, so the process started is
# the component itself).
in_node() {
  in_ns=()
  [ -z "${netns[$1]}" ] || in_ns=(nsenter --net="/run/netns/${netns[$1]}")
}
# veth I: the machine's end of node I's veth.
veth() { echo "zdgen-veth-${names[$1]##*-}"; }

# --- build ---------------------------------------------------------------------------

bin=$("$repo/test/apiserver/build.sh") || die "building the Kubernetes components"
version=$("$bin/kubectl" version --client | sed -n 's/^Client Version: //p')
kubectl=$bin/kubectl
for tool in etcd containerd runc buildah ctr conntrack iptables ip nsenter openssl mmdebstrap; do
  command -v "$tool" >/dev/null || die "no $tool: apt-get install etcd-server containerd runc containernetworking-plugins iptables conntrack buildah iproute2 util-linux openssl mmdebstrap"
done
cni_bin=/usr/lib/cni
for p in bridge host-local portmap loopback; do
  [ -x "$cni_bin/$p" ] || die "no CNI plugin $cni_bin/$p: apt-get install containernetworking-plugins"
done
[ -n "$uplink" ] || die "no default route: cannot tell the uplink to guard"
# kube-proxy's nftables mode programs its rules through the nft command;
# the teardown checks with it that none are left.
command -v nft >/dev/null || die "no nft (kube-proxy's nftables mode, and the teardown's check): apt-get install nftables"

"$here/images.sh"

# --- state and teardown --------------------------------------------------------------

state=$(mktemp -d "${TMPDIR:-/tmp}/zdgen-node.XXXXXX")
chmod 755 "$state"
dirs=() # each node's own directory: containerd, kubelet, CNI state, logs of its pods
for name in "${names[@]}"; do dirs+=("$state/nodes/$name"); done
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
# running NAME: whether the component NAME (kubelet@NODE for a node's own)
# is up; NAME* matches every node's.
running() {
  local p
  for p in "${pids[@]}"; do
    # shellcheck disable=SC2053 # a pattern on purpose
    [[ "${p%%=*}" == $1 ]] && kill -0 "${p#*=}" 2>/dev/null && return 0
  done
  return 1
}

teardown() {
  local code=$?
  trap - EXIT INT TERM
  set +e
  say "tearing down"
  # Workloads first, while the kubelets run: they tear sandboxes down
  # through CNI, which releases their addresses and veths.
  if running 'kubelet@*' && running kube-apiserver; then
    "$kubectl" delete namespaces -l zdgen.test/node=true --wait=false >/dev/null 2>&1
    "$kubectl" delete pods --all -A --grace-period=1 --wait=false >/dev/null 2>&1
    for _ in $(seq 60); do
      [ -z "$("$kubectl" get pods -A -o name 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  # Components, newest first; the containerds last.
  local i
  for (( i=${#pids[@]}-1; i>=0; i-- )); do
    local name=${pids[i]%%=*} pid=${pids[i]#*=}
    [[ "$name" == containerd@* ]] && continue
    stop "$name" "$pid"
  done
  # Each node's containers the kubelet did not get to, then its containerd
  # and its shims (their command line names its socket).
  local n sock
  for (( n=0; n<${#names[@]}; n++ )); do
    sock=${dirs[n]}/containerd.sock
    if running "containerd@${names[n]}"; then
      local ctr_=(ctr --address "$sock" -n k8s.io)
      for t in $("${ctr_[@]}" tasks ls -q 2>/dev/null); do
        "${ctr_[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1
      done
      sleep 0.5
      for t in $("${ctr_[@]}" tasks ls -q 2>/dev/null); do "${ctr_[@]}" tasks delete -f "$t" >/dev/null 2>&1; done
      for t in $("${ctr_[@]}" containers ls -q 2>/dev/null); do "${ctr_[@]}" containers delete "$t" >/dev/null 2>&1; done
      for p in "${pids[@]}"; do [ "${p%%=*}" = "containerd@${names[n]}" ] && stop "${p%%=*}" "${p#*=}"; done
    fi
    pkill -KILL -f "containerd-shim.*-address $sock" 2>/dev/null
  done
  # kube-proxy's rules and chains in the machine's namespace (the other
  # nodes' go with their namespaces), then the ones the kubelet and the
  # CNI plugins leave behind.
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
  iptables -t mangle -D POSTROUTING -o "$uplink" -s "$node_net" -j DROP 2>/dev/null
  iptables -t mangle -D POSTROUTING -o "$uplink" -d "$service_cidr" -j DROP 2>/dev/null
  ip route del "$service_cidr" dev "$guard" 2>/dev/null
  ip route del "$pod_cidr" dev "$guard" 2>/dev/null
  # Mounts under the state directory (volumes, overlay snapshots), deepest
  # first.
  awk -v s="$state" '$2 ~ "^"s {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  # The nodes' namespaces, with every device and rule in them.
  for (( n=1; n<${#names[@]}; n++ )); do
    ip netns del "${netns[n]}" 2>/dev/null
    ip link del "$(veth "$n")" 2>/dev/null
  done
  for dev in "$cni_bridge" "$node_bridge" "$guard"; do ip link del "$dev" 2>/dev/null; done
  # The pods' cgroups (cgroupfs driver: kubepods under every hierarchy, for
  # the first node at the root, for the others under their cgroup root).
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h/kubepods" ] && find "$h/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null
    for (( n=1; n<${#names[@]}; n++ )); do
      [ -d "$h/${names[n]}" ] && find "$h/${names[n]}" -depth -type d -exec rmdir {} + 2>/dev/null
    done
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
  for (( n=1; n<${#names[@]}; n++ )); do
    ip netns list | grep -qw "${netns[n]}" && left+=("network namespace ${netns[n]}")
    ip link show "$(veth "$n")" >/dev/null 2>&1 && left+=("device $(veth "$n")")
    for h in /sys/fs/cgroup/*/; do [ -d "$h/${names[n]}" ] && left+=("cgroup $h${names[n]}") && break; done
  done
  for ipt in iptables ip6tables; do
    "$ipt-save" 2>/dev/null | grep -qE '^:(KUBE-|CNI-)' && left+=("$ipt chains: $("$ipt-save" | grep -oE '^:(KUBE-|CNI-)[^ ]*' | tr '\n' ' ')")
  done
  # kube-proxy's nftables mode keeps its rules in tables of its own.
  nft list tables 2>/dev/null | grep -q ' kube-proxy$' && left+=("nftables: $(nft list tables | grep ' kube-proxy$' | tr '\n' ' ')")
  iptables -t mangle -S POSTROUTING | grep -qE -- "-[sd] ($pod_cidr|$node_net|$service_cidr) -o $uplink" && left+=("guard rules on $uplink")
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
ip route add "$pod_cidr" dev "$guard" # each node's /24 (its pods' bridge, or a route to it) is more specific
iptables -t mangle -I POSTROUTING -o "$uplink" -s "$pod_cidr" -j DROP
iptables -t mangle -I POSTROUTING -o "$uplink" -s "$node_net" -j DROP
iptables -t mangle -I POSTROUTING -o "$uplink" -d "$service_cidr" -j DROP
ip link add "$node_bridge" type bridge
ip addr add "$api_ip/24" dev "$node_bridge"
ip link set "$node_bridge" up
sysctl -qw net.bridge.bridge-nf-call-iptables=1 # kube-proxy's rules see bridged pod traffic
# The other nodes: a namespace each, a veth to the node bridge, and the
# same guard inside: the service and pod ranges routed to a device that
# goes nowhere, and no default route, so that nothing but the node range
# and the pods' /24s is reachable from them at all.
for (( n=1; n<${#names[@]}; n++ )); do
  ns=${netns[n]}
  ip netns add "$ns"
  ip link add "$(veth "$n")" type veth peer name eth0 netns "$ns"
  ip link set "$(veth "$n")" master "$node_bridge" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "${ips[n]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link add "$guard" type bridge
  ip -n "$ns" link set "$guard" up
  ip -n "$ns" route add "$service_cidr" dev "$guard"
  ip -n "$ns" route add "$pod_cidr" dev "$guard"
  on "$n" sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
done
printf 'nameserver 127.0.0.1\n' >"$state/resolv.conf" # no DNS server off the machine

# --- certificates ------------------------------------------------------------------

say "making certificates"
(
  cd "$state"
  . "$repo/test/apiserver/certs.sh"
  ca zdgen-node-ca
  client="extendedKeyUsage=clientAuth"
  cert apiserver /CN=kube-apiserver "subjectAltName=IP:$api_ip,IP:$api_service_ip,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
  for (( n=0; n<${#names[@]}; n++ )); do
    cert "kubelet-serving-${names[n]}" "/CN=${names[n]}" "subjectAltName=IP:${ips[n]},DNS:${names[n]}
extendedKeyUsage=serverAuth"
    cert "kubelet-${names[n]}" "/O=system:nodes/CN=system:node:${names[n]}" "$client"
  done
  cert admin /O=system:masters/CN=zdgen-admin "$client"
  cert apiserver-kubelet-client /O=system:masters/CN=kube-apiserver-kubelet-client "$client"
  cert kube-proxy /CN=system:kube-proxy "$client"
  cert controller-manager /CN=system:kube-controller-manager "$client"
  cert scheduler /CN=system:kube-scheduler "$client"
  key sa.key
  openssl pkey -in sa.key -pubout -out sa.pub
) || die "making certificates with openssl"

# kubeconfig NAME: a kubeconfig for the identity NAME.crt/NAME.key.
kubeconfig() {
  cat >"$state/$1.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: zdgen-node
    cluster:
      server: https://$api_ip:6443
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
KUBECONFIG
}
for id in admin kube-proxy controller-manager scheduler; do kubeconfig "$id"; done
for name in "${names[@]}"; do kubeconfig "kubelet-$name"; done

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
  --bind-address="$api_ip" --advertise-address="$api_ip" --secure-port=6443 \
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

# The node lifecycle controller's grace period stays at its default: how
# long a lost node's pods keep their endpoints is one of the figures the
# tests measure.
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

# --- containerd, one per node --------------------------------------------------------

buildah push --quiet localhost/zdgen-pause:1 "oci-archive:$state/pause.tar:localhost/zdgen-pause:1" >/dev/null
say "starting containerd $(containerd --version | awk '{print $3}') on ${#names[@]} nodes and importing the sandbox image"
for (( n=0; n<${#names[@]}; n++ )); do
  d=${dirs[n]}
  mkdir -p "$d/cni/net.d" "$d/cni/data"
  # The CNI configuration is written once the node has its pod range
  # (below); until then the node is not Ready.
  cat >"$d/containerd.toml" <<TOML
version = 2
root = "$d/containerd/root"
state = "$d/containerd/state"
[grpc]
  address = "$d/containerd.sock"
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
        # runc's state of this node's containers, apart from the others'.
        Root = "$d/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$d/cni/net.d"
    max_conf_num = 1
TOML
  in_node "$n"
  start "containerd@${names[n]}" "${in_ns[@]}" containerd --config "$d/containerd.toml"
done
for (( n=0; n<${#names[@]}; n++ )); do
  ctr=(ctr --address "${dirs[n]}/containerd.sock" -n k8s.io)
  wait_for "containerd on ${names[n]}" 30 "${ctr[@]}" version
  "${ctr[@]}" images import --base-name localhost/zdgen-pause "$state/pause.tar" >/dev/null
done
rm -f "$state/pause.tar"

# --- kubelets and kube-proxies -------------------------------------------------------

for (( n=0; n<${#names[@]}; n++ )); do
  d=${dirs[n]} name=${names[n]}
  # Every node but the first puts its pods under a cgroup root of its own,
  # made in every hierarchy before its kubelet starts (it checks).
  cgroup_root=
  if [ "$n" -gt 0 ]; then
    cgroup_root="cgroupRoot: /$name"
    for h in /sys/fs/cgroup/*/; do
      [ "$h" = /sys/fs/cgroup/unified/ ] && continue
      mkdir -p "$h$name"
      if [ -f "${h}cpuset.cpus" ]; then
        cat "${h}cpuset.cpus" >"$h$name/cpuset.cpus"
        cat "${h}cpuset.mems" >"$h$name/cpuset.mems"
      fi
    done
  fi
  cat >"$d/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${ips[n]}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: $state/kubelet-serving-$name.crt
tlsPrivateKeyFile: $state/kubelet-serving-$name.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $state/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
$cgroup_root
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$d/containerd.sock
podLogsDir: $d/pod-logs
resolvConf: $state/resolv.conf
# No clusterDNS: no DNS add-on runs, and pods must not reach a server off
# the machine.
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
  say "starting the kubelet on $name (${ips[n]}${netns[n]:+, network namespace ${netns[n]}})"
  in_node "$n"
  start "kubelet@$name" "${in_ns[@]}" "$bin/kubelet" --config="$d/kubelet.yaml" --kubeconfig="$state/kubelet-$name.kubeconfig" \
    --root-dir="$d/kubelet" --hostname-override="$name" --node-ip="${ips[n]}"
done

pod_cidr_of() { "$kubectl" get node "$1" -o jsonpath='{.spec.podCIDR}' 2>/dev/null; }
has_pod_cidr() { [ -n "$(pod_cidr_of "$1")" ]; }
node_cidrs=()
for (( n=0; n<${#names[@]}; n++ )); do
  name=${names[n]}
  wait_for "node $name registered with a pod range" 60 has_pod_cidr "$name"
  node_cidrs+=("$(pod_cidr_of "$name")")
  # The node's pods' network: its own bridge, its /24, host-local's state
  # in its own directory.
  cat >"${dirs[n]}/cni/net.d/10-zdgen.conflist" <<JSON
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
        "ranges": [[{"subnet": "${node_cidrs[n]}"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "${dirs[n]}/cni/data"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
done
# Routes between the nodes' pod ranges: each node reaches another's pods
# through that node's address.
for (( n=0; n<${#names[@]}; n++ )); do
  for (( m=0; m<${#names[@]}; m++ )); do
    [ "$n" = "$m" ] && continue
    on "$n" ip route add "${node_cidrs[m]}" via "${ips[m]}"
  done
done

for (( n=0; n<${#names[@]}; n++ )); do
  d=${dirs[n]} name=${names[n]}
  cat >"$d/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ${modes[n]}
clientConnection: {kubeconfig: $state/kube-proxy.kubeconfig}
hostnameOverride: $name
bindAddress: ${ips[n]}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $pod_cidr
nodePortAddresses: ["${ips[n]}/32"]
# Leave the host's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  say "starting kube-proxy on $name (${modes[n]} mode)"
  in_node "$n"
  start "kube-proxy@$name" "${in_ns[@]}" "$bin/kube-proxy" --config="$d/kube-proxy.yaml" --v=2 # v=2: each sync and its duration
done

node_ready() {
  [ "$("$kubectl" get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
for name in "${names[@]}"; do wait_for "node $name Ready" 120 node_ready "$name"; done
wait_for "the default service account" 60 "$kubectl" get serviceaccount default -n default
say "${#names[@]} nodes Ready in $(( $(date +%s) - t0 ))s from the start of this script: ${names[*]}"

# --- the command ----------------------------------------------------------------------

# The nodes, for the tests: name, address, network namespace (empty: the
# machine's), kube-proxy mode, pod range, containerd's socket, the
# kubelet's configuration, the machine's end of the node's veth.
{
  printf '['
  for (( n=0; n<${#names[@]}; n++ )); do
    [ "$n" -gt 0 ] && printf ','
    printf '\n  {"name": "%s", "ip": "%s", "netns": "%s", "proxyMode": "%s", "podCIDR": "%s", "containerd": "%s", "kubeletConfig": "%s", "veth": "%s"}' \
      "${names[n]}" "${ips[n]}" "${netns[n]}" "${modes[n]}" "${node_cidrs[n]}" "${dirs[n]}/containerd.sock" "${dirs[n]}/kubelet.yaml" \
      "$( [ "$n" -gt 0 ] && veth "$n")"
  done
  printf '\n]\n'
} >"$state/nodes.json"

# For the tests, which skip without a cluster.
export ZDGEN_NODE_KUBECONFIG=$KUBECONFIG ZDGEN_NODE_KUBECTL=$kubectl
export ZDGEN_NODE_NODES=$state/nodes.json ZDGEN_NODE_STATE=$state
export ZDGEN_NODE_UPLINK=$uplink ZDGEN_NODE_GUARD=$guard
export ZDGEN_NODE_POD_CIDR=$pod_cidr ZDGEN_NODE_SERVICE_CIDR=$service_cidr ZDGEN_NODE_NET=$node_net
if [ $# -gt 0 ]; then
  "$@" || die "$* exited $?"
else
  say "zdgen's real-cluster tests"
  if ! (cd "$repo" && go test -count=1 -v -timeout 60m -run '^TestNode' ./test/cluster) 2>&1 | tee "$state/test.log"; then
    die "the real-cluster tests failed"
  fi
  # On fewer than three nodes the drain and node-loss tests skip.
  if { [ "$node_count" = 3 ] && grep -q -e '--- SKIP' "$state/test.log"; } || ! grep -q -e '^--- PASS: TestNode' "$state/test.log"; then
    die "the real-cluster tests did not run"
  fi
fi
say "done"
