#!/usr/bin/env bash
# Builds deepgen and runs its tests against LibTorch 2.x on the CPU: Debian 13 (trixie)'s libtorch-dev
# 2.6.0, inside a debootstrap chroot, since Debian 12 ships 1.13.1. What it checks is the committed
# state (HEAD is cloned into the chroot). With BENCH=1 it then runs `make bench` there too (deepgen
# against PyTorch 2.6 on the same LibTorch build). Needs root and `apt-get install debootstrap`, about
# 3 GB of disk (with the benches) and 10 minutes on 2 cores the first time, BENCH=1 15 more (the
# chroot is kept and reused).
#   sudo [BENCH=1] scripts/check_libtorch2.sh [ROOT]      (ROOT defaults to /tmp/deepgen-trixie)
set -euo pipefail
ROOT=${1:-/tmp/deepgen-trixie}
REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
[ "$(id -u)" = 0 ] || { echo "check_libtorch2: needs root (debootstrap, chroot); run it with sudo" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "check_libtorch2: needs debootstrap: apt-get install debootstrap" >&2; exit 1; }
[ -x "$ROOT/usr/bin/apt-get" ] || debootstrap --variant=minbase trixie "$ROOT" http://deb.debian.org/debian
mounted=()
for m in proc dev; do
  if ! mountpoint -q "$ROOT/$m"; then
    if [ $m = proc ]; then mount -t proc proc "$ROOT/proc"; else mount --bind /dev "$ROOT/dev"; fi
    mounted+=("$ROOT/$m")
  fi
done
trap '[ ${#mounted[@]} -eq 0 ] || umount "${mounted[@]}"' EXIT
cp /etc/resolv.conf "$ROOT/etc/"
rm -rf "$ROOT/src/deepgen"
mkdir -p "$ROOT/src"
git clone -q "$REPO" "$ROOT/src/deepgen"
# minbase has no make; `make test` installs the rest (its `deps` target)
chroot "$ROOT" bash -c 'command -v make >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make; }'
chroot "$ROOT" bash -c 'cd /src/deepgen && make test'
chroot "$ROOT" dpkg-query -W libtorch-dev g++
[ "${BENCH:-0}" != 1 ] || chroot "$ROOT" bash -c 'cd /src/deepgen && make bench'
