#!/usr/bin/env bash
# Build the Kubernetes components pinned in this folder's go.mod, once per
# machine, and print the directory that holds them:
#
#   bin=$(test/apiserver/build.sh)   # kube-apiserver, kube-controller-manager,
#                                    # kube-scheduler, kubelet, kube-proxy, kubectl
#
# They go to $ZDGEN_TEST_CACHE/kubernetes-VERSION (default
# ~/.cache/zdgen-test), outside any checkout, so that every clone on the
# machine (CI's included) reuses them. All six are built in one go build:
# they share most of their packages, and building them together costs
# little more than building the API server alone (about 15 minutes on 2
# cores with an empty build cache).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${ZDGEN_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zdgen-test}
version=$(cd "$here" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
bin=$cache/kubernetes-$version
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

missing=()
for c in "${components[@]}"; do [ -x "$bin/$c" ] || missing+=("k8s.io/kubernetes/cmd/$c"); done
if [ ${#missing[@]} -gt 0 ]; then
  start=$(date +%s)
  echo "== build: Kubernetes $version: ${missing[*]##*/} (up to 15 minutes on 2 cores with an empty build cache)" >&2
  # Without the version stamp the components report v0.0.0-master+$Format:%H$
  # (component-base's placeholder), which kubectl cannot parse.
  minor=$(echo "$version" | cut -d. -f2)
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  mkdir -p "$cache"
  part=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$part"' EXIT
  (cd "$here" && go build -o "$part/" -ldflags "$ldflags" "${missing[@]}")
  mkdir -p "$bin"
  for p in "${missing[@]}"; do mv "$part/${p##*/}" "$bin/"; done
  echo "== build: done in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin"
