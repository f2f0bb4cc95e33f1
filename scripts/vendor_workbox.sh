#!/bin/sh
# Refresh the vendored Workbox (the driver app's service worker) from its npm packages at a fixed version:
#   scripts/vendor_workbox.sh [VERSION]
# It copies workbox-sw.js (the loader) and the production builds of the modules the driver app's worker uses
# (core, routing, strategies, expiration, precaching) with their source maps, and the licence, into
# static/vendor/workbox-VERSION/. The worker loads them from there (modulesPathPrefix): nothing comes from the
# internet at run time. After a version change, update WORKBOX_VERSION in delivery/views_driver.py and remove
# the old folder.
set -eu
VERSION="${1:-7.4.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/static/vendor/workbox-$VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$TARGET"
mkdir -p "$TARGET"
for name in workbox-sw workbox-core workbox-routing workbox-strategies workbox-expiration workbox-precaching; do
  (cd "$WORK" && npm pack "$name@$VERSION" --silent >/dev/null)
  mkdir -p "$WORK/$name"
  tar -xzf "$WORK/$name-$VERSION.tgz" -C "$WORK/$name"
  if [ "$name" = workbox-sw ]; then
    cp "$WORK/$name/package/build/workbox-sw.js" "$WORK/$name/package/build/workbox-sw.js.map" "$TARGET/"
  else
    cp "$WORK/$name/package/build/$name.prod.js" "$WORK/$name/package/build/$name.prod.js.map" "$TARGET/"
  fi
done
cp "$WORK/workbox-sw/package/LICENSE" "$TARGET/LICENSE"
echo "Workbox $VERSION vendored in static/vendor/workbox-$VERSION"
