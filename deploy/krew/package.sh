#!/bin/sh
# Packs a built netfence binary as the krew archive of one platform:
#   deploy/krew/package.sh BINARY OS ARCH OUT_DIR
# writes OUT_DIR/netfence_OS_ARCH.tar.gz (netfence and LICENSE at its root) and prints its
# sha256, what krew-release-bot puts beside the URL in deploy/krew/netfence.yaml.
set -eu
bin=$1 os=$2 arch=$3 out=$4
root=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$bin" "$stage/netfence"
chmod 755 "$stage/netfence"
cp "$root/LICENSE" "$stage/LICENSE"
mkdir -p "$out"
archive="$out/netfence_${os}_${arch}.tar.gz"
tar -C "$stage" -czf "$archive" netfence LICENSE
sha256sum "$archive" | cut -d' ' -f1
