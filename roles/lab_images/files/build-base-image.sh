#!/bin/sh
# Build a minimal Debian base image without any registry: debootstrap, then `docker import`.
# Usage: build-base-image.sh <image:tag> <suite> <mirror>
set -eu
image=$1 suite=$2 mirror=$3
log_dir=/var/log/labstack
mkdir -p "$log_dir"
log="$log_dir/base-image.log"
root=$(mktemp -d /var/tmp/labstack-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $suite from $mirror into $root" >"$log"
if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >>"$log" 2>&1; then
  echo "debootstrap failed; is $mirror reachable? Last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
# Apt inside builds: no recommends, no docs, clean lists. Images stay small and reproducible.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  >"$root/etc/apt/apt.conf.d/90labstack"
printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --change "LABEL labstack.image=base labstack.suite=$suite" \
  - "$image" >>"$log"
docker tag "$image" "${image%%:*}:latest"
echo "built $image"
