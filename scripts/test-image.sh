#!/usr/bin/env bash
# Build the test image by `docker import` of a rootfs made from /bin/busybox (its applets) plus the host's
# own node binary with its libraries and the test peer (no registry is reachable). Idempotent: rebuilds only
# when the peer script or this script changed. Prints the image name.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
hash=$(cat "$here/scripts/test-image.sh" "$here/test/images/peer.mjs" | sha256sum | cut -c1-12)
image="${PORTOLAN_TEST_IMAGE:-portolan-test/peer:$hash}"
if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,tmp,etc,proc,sys,dev,www,root,opt}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf /bin/busybox "$root/bin/$applet"
done
node_bin=$(readlink -f "$(command -v node)")
cp "$node_bin" "$root/usr/bin/node"
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp "$here/test/images/peer.mjs" "$root/opt/peer.mjs"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo hello >"$root/www/index.html"
tar -C "$root" -c . | docker import \
  --change 'CMD ["/bin/sh"]' \
  --change 'LABEL org.portolan.test=1' - "$image" >/dev/null
echo "built $image" >&2
echo "$image"
