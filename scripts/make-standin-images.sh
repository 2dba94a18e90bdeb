#!/usr/bin/env bash
# Makes the stand-in base images that replace registry images where no registry is reachable:
#   localhost/dev8-standin/debian:bookworm      debootstrap of Debian bookworm, minimized as Ubuntu's
#                                               ubuntu:22.04 image is (no docs, man pages, translations)
#   localhost/dev8-standin/golang:<go version>  that rootfs plus the Go toolchain, laid out like golang:*
# The rootfs tarball and the toolchain are cached under DEV8_CACHE_DIR; rerunning is cheap.
set -euo pipefail

readonly GO_VERSION="${DEV8_STANDIN_GO_VERSION:-1.26.8}"
readonly DEBIAN_SUITE="bookworm"
readonly DEBIAN_MIRROR="${DEV8_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly CACHE_DIR="${DEV8_CACHE_DIR:-/var/cache/dev8-images}"
readonly ROOTFS_IMAGE="localhost/dev8-standin/debian-rootfs:${DEBIAN_SUITE}"
readonly DEBIAN_IMAGE="localhost/dev8-standin/debian:${DEBIAN_SUITE}"
readonly GO_IMAGE="localhost/dev8-standin/golang:${GO_VERSION}-${DEBIAN_SUITE}"

log() { printf 'standin: %s\n' "$*" >&2; }

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) log "unsupported architecture: $arch"; exit 1 ;;
esac

mkdir -p "$CACHE_DIR"
# The name changes with what goes into the tarball, so a cached older one is made anew.
rootfs_tar="$CACHE_DIR/debian-${DEBIAN_SUITE}-${arch}-minimized-rootfs.tar"

if [[ ! -s "$rootfs_tar" ]]; then
  log "debootstrap $DEBIAN_SUITE ($arch) from $DEBIAN_MIRROR"
  work="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  debootstrap --variant=minbase --include=ca-certificates "$DEBIAN_SUITE" "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
  }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  # What Ubuntu's minimized images leave out (their /etc/dpkg/dpkg.cfg.d/excludes), copyrights kept.
  find "$work/rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$work/rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$work/rootfs/usr/share/man/"* "$work/rootfs/usr/share/info/"* "$work/rootfs/usr/share/lintian"
  find "$work/rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  tar --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$rootfs_tar"
  rm -rf "$work"
  trap - EXIT
fi

rootfs_label="$(podman image inspect --format '{{index .Labels "dev8.standin.rootfs"}}' "$DEBIAN_IMAGE" 2>/dev/null || true)"
if [[ "$rootfs_label" != "${rootfs_tar##*/}" ]]; then
  log "importing $DEBIAN_IMAGE"
  podman import --quiet --change 'CMD ["/bin/bash"]' "$rootfs_tar" "$ROOTFS_IMAGE" >/dev/null
  # Trust the CAs this host added locally (an intercepting egress proxy, a corporate CA), so that
  # apt, pip, npm and go inside the builds reach their registries as the host does.
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' EXIT
  mkdir "$context/ca"
  if [[ -d /usr/local/share/ca-certificates ]]; then
    find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$context/ca/" \;
  fi
  cat >"$context/Containerfile" <<CONTAINERFILE
FROM $ROOTFS_IMAGE
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
LABEL dev8.standin.rootfs="${rootfs_tar##*/}"
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CONTAINERFILE
  podman build --quiet -t "$DEBIAN_IMAGE" "$context" >/dev/null
  rm -rf "$context"
  trap - EXIT
fi

# The Go image inherits the rootfs label from the Debian one: a new rootfs rebuilds it too.
go_label="$(podman image inspect --format '{{index .Labels "dev8.standin.rootfs"}}' "$GO_IMAGE" 2>/dev/null || true)"
if [[ "$go_label" != "${rootfs_tar##*/}" ]]; then
  # The toolchain comes from the Go module proxy, verified against the checksum database by go itself.
  log "downloading Go $GO_VERSION toolchain through the module proxy"
  export GOMODCACHE="$CACHE_DIR/gomodcache" GOFLAGS=-modcacherw
  toolchain_dir="$(go mod download -json "golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-${arch}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' EXIT
  cp -a "$toolchain_dir" "$context/go"
  # Module zips carry no execute bits; the go command restores them for toolchains, and so do we.
  chmod -R u+w "$context/go"
  chmod 0755 "$context/go/bin/"* "$context/go/pkg/tool/"*/*
  cat >"$context/Containerfile" <<CONTAINERFILE
FROM $DEBIAN_IMAGE
COPY go /usr/local/go
ENV GOLANG_VERSION=$GO_VERSION GOPATH=/go GOTOOLCHAIN=local
ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
CONTAINERFILE
  log "building $GO_IMAGE"
  podman build --quiet -t "$GO_IMAGE" "$context" >/dev/null
fi

printf '%s\n%s\n' "$DEBIAN_IMAGE" "$GO_IMAGE"
