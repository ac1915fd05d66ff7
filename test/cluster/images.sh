#!/usr/bin/env bash
# Build the images that the test node needs and that no registry can give
# it here, into buildah's local storage, once per machine:
#
#   localhost/zdgen-pause:1                    the pod sandbox (test/cluster/pause)
#   docker.io/library/golang:1.26              STAND-IN: Debian bookworm minbase + this machine's Go
#   gcr.io/distroless/static-debian12:nonroot  STAND-IN: passwd/group with nonroot 65532, CA bundle, tzdata
#   docker.io/library/debian:bookworm-slim     STAND-IN: Debian bookworm minbase
#
# The generated Dockerfiles name these bases; building them here under the
# same names lets `buildah bud --pull=never` build those Dockerfiles
# unchanged. Each image carries a label with a hash of its recipe; an image
# whose label matches is kept, so a second run builds nothing.
#
#   test/cluster/images.sh      # build what is missing or stale
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${ZDGEN_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zdgen-test}
mkdir -p "$cache"
say() { printf '== images: %s\n' "$*"; }

# fresh NAME RECIPE: true when NAME exists with this recipe's hash.
fresh() {
  [ "$(buildah inspect --type image --format '{{index .ImageAnnotations "zdgen.recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}
hash() { sha256sum | cut -c1-16; }

# The CA bundle that this machine trusts: the module proxy is reached over
# TLS with a certificate that Debian's stock bundle may not trust.
ca=/etc/ssl/certs/ca-certificates.crt
[ -r "$ca" ] || { echo "images: no CA bundle at $ca (apt-get install ca-certificates)" >&2; exit 1; }

# --- the pod sandbox -------------------------------------------------------------

pause=localhost/zdgen-pause:1
recipe=$( (cat "$here/pause/main.go"; go version) | hash)
if ! fresh "$pause" "$recipe"; then
  say "building $pause"
  work=$(mktemp -d)
  (cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/pause" ./test/cluster/pause)
  c=$(buildah from scratch)
  buildah copy --quiet "$c" "$work/pause" /pause
  buildah config --entrypoint '["/pause"]' --user 65535:65535 --annotation "zdgen.recipe=$recipe" "$c"
  buildah commit --quiet --rm "$c" "$pause" >/dev/null
  rm -rf "$work"
fi

# --- a Debian bookworm root file system (minbase), cached as a tarball -----

rootfs=$cache/bookworm-minbase.tar
if [ ! -s "$rootfs" ]; then
  say "making a Debian bookworm minbase root file system with mmdebstrap"
  part=$cache/bookworm-minbase.part.tar
  rm -f "$part"
  mmdebstrap --quiet --format=tar --variant=minbase --include=ca-certificates,tzdata bookworm "$part"
  tar -tf "$part" ./etc/os-release >/dev/null # complete enough to use
  mv "$part" "$rootfs"
fi
rootfs_hash=$(cut -c1-16 <<<"$(stat -c '%s %Y' "$rootfs" | sha256sum)")

# --- golang:1.26: Debian + this machine's Go -----------------------------------

golang=docker.io/library/golang:1.26
goroot=$(go env GOROOT)
goenv=(GOTOOLCHAIN=local "GOPROXY=$(go env GOPROXY)" "GOSUMDB=$(go env GOSUMDB)" "GOFLAGS=$(go env GOFLAGS)")
recipe=$( (echo "$rootfs_hash"; go version; printf '%s\n' "${goenv[@]}"; sha256sum "$ca") | hash)
if ! fresh "$golang" "$recipe"; then
  say "building the stand-in $golang from Debian and $(go version | cut -d' ' -f3)"
  c=$(buildah from scratch)
  buildah add --quiet "$c" "$rootfs" /
  buildah copy --quiet "$c" "$goroot" /usr/local/go
  buildah copy --quiet "$c" "$ca" /etc/ssl/certs/ca-certificates.crt
  envs=()
  for e in "${goenv[@]}" GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; do
    envs+=(--env "$e")
  done
  buildah config "${envs[@]}" --workingdir /go --cmd bash --annotation "zdgen.recipe=$recipe" "$c"
  buildah commit --quiet --rm "$c" "$golang" >/dev/null
fi

# --- debian:bookworm-slim: Debian minbase ------------------------------------------

slim=docker.io/library/debian:bookworm-slim
recipe=$( (echo "$rootfs_hash"; sha256sum "$ca") | hash)
if ! fresh "$slim" "$recipe"; then
  say "building the stand-in $slim"
  c=$(buildah from scratch)
  buildah add --quiet "$c" "$rootfs" /
  buildah copy --quiet "$c" "$ca" /etc/ssl/certs/ca-certificates.crt
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash \
    --annotation "zdgen.recipe=$recipe" "$c"
  buildah commit --quiet --rm "$c" "$slim" >/dev/null
fi

# --- distroless static nonroot: users, CA bundle, time zones, nothing else ----

distroless=gcr.io/distroless/static-debian12:nonroot
recipe=$( (echo "$rootfs_hash"; sha256sum "$ca"; echo v1) | hash)
if ! fresh "$distroless" "$recipe"; then
  say "building the stand-in $distroless"
  work=$(mktemp -d)
  mkdir -p "$work/etc/ssl/certs" "$work/usr/share" "$work/home/nonroot" "$work/tmp"
  chmod 1777 "$work/tmp"
  chown 65532:65532 "$work/home/nonroot"
  cat >"$work/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
  cat >"$work/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
  cp "$ca" "$work/etc/ssl/certs/ca-certificates.crt"
  tar -xf "$rootfs" -C "$work" ./usr/share/zoneinfo
  c=$(buildah from scratch)
  buildah copy --quiet "$c" "$work" /
  buildah config --user 65532:65532 --workingdir /home/nonroot \
    --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --annotation "zdgen.recipe=$recipe" "$c"
  buildah commit --quiet --rm "$c" "$distroless" >/dev/null
  rm -rf "$work"
fi

say "ready: $pause $golang $slim $distroless"
