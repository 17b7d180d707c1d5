#!/usr/bin/env bash
# Packages the controller needs before Ansible exists: a venv-capable Python and basic tools.
# Everything the lab itself needs (Docker Engine, debootstrap, ...) is installed by the roles.
#   install-host-deps.sh          what `make site` needs
#   install-host-deps.sh --tests  plus what the tests use on the host: gpg (key fingerprints),
#                                 ps/pgrep (docker top, holders), chattr (stuck containers)
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "labstack: run this as root (it installs Debian packages)." >&2
  exit 1
fi
needed=(python3 python3-venv python3-pip curl ca-certificates git make)
if [ "${1:-}" = "--tests" ]; then
  needed=(gnupg procps e2fsprogs util-linux)
fi
missing=()
for pkg in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "labstack: installing host packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
