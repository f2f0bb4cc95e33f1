#!/bin/sh
# Refresh the vendored Workbox (the driver app's service worker) from its npm packages at a fixed version:
#   scripts/vendor_workbox.sh [VERSION]
# It copies the production builds of the modules the driver app's worker uses (core, routing, strategies) with
# their source maps, and the licence, into static/vendor/workbox-VERSION/. The worker (templates/delivery/driver/
# sw.js) loads them with importScripts from there: nothing comes from the internet at run time. After a version change, update WORKBOX_VERSION in delivery/views_driver.py and remove
# the old folder.
set -eu
VERSION="${1:-7.4.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/static/vendor/workbox-$VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$TARGET"
mkdir -p "$TARGET"
for name in workbox-core workbox-routing workbox-strategies; do
  (cd "$WORK" && npm pack "$name@$VERSION" --silent >/dev/null)
  mkdir -p "$WORK/$name"
  tar -xzf "$WORK/$name-$VERSION.tgz" -C "$WORK/$name"
  cp "$WORK/$name/package/build/$name.prod.js" "$WORK/$name/package/build/$name.prod.js.map" "$TARGET/"
done
cp "$WORK/workbox-core/package/LICENSE" "$TARGET/LICENSE"
echo "Workbox $VERSION vendored in static/vendor/workbox-$VERSION"
