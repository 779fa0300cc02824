#!/bin/sh
# Builds local/debian:bookworm, a stand-in for debian:bookworm-slim, on machines that cannot
# pull from Docker Hub: debootstrap fetches the packages from the Debian mirror apt already
# uses, and `docker import` turns the tree into an image. Every image of the stack is then
# built FROM it (make compose-images BASE_IMAGE=local/debian:bookworm).
#
#   deploy/compose/base-image.sh [TAG] [MIRROR]
#
# Needs root, debootstrap and a running dockerd; takes a few minutes. An existing TAG is kept
# (delete it with `docker rmi` to rebuild).
set -eu
tag=${1:-local/debian:bookworm}
mirror=${2:-}
if [ -z "$mirror" ]; then
  # The mirror of the host's own apt sources (deb822 or one-line format), else Debian's.
  mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)\/\{0,1\} *$/\1/p; s/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*debian\)\/\{0,1\} bookworm .*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | head -n 1)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag exists"
  exit 0
fi
root=$(mktemp -d /tmp/acoustid-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror"
# What debian:bookworm-slim also drops or sets: caches, docs and an apt that keeps no .debs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
  > "$root"/etc/apt/apt.conf.d/90acoustid-no-recommends
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
  > "$root"/etc/dpkg/dpkg.cfg.d/90acoustid-slim
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
  > "$root"/etc/apt/sources.list
tar -C "$root" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$tag"
docker image ls "$tag"
