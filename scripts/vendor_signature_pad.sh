#!/bin/sh
# Refresh the vendored signature_pad (the customer's signature in the driver app) from its npm package at a
# fixed version:
#   scripts/vendor_signature_pad.sh [VERSION]
# It copies the minified UMD build (it defines window.SignaturePad, no module loader needed) with its source map,
# and the licence, into static/vendor/signature_pad-VERSION/. The driver app's page loads it from there: nothing
# comes from the internet at run time. After a version change, update the path in
# templates/delivery/driver/app.html and templates/delivery/driver/sw.js (and bump its SHELL cache name), and
# remove the old folder.
set -eu
VERSION="${1:-5.1.4}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/static/vendor/signature_pad-$VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$TARGET"
mkdir -p "$TARGET"
(cd "$WORK" && npm pack "signature_pad@$VERSION" --silent >/dev/null)
tar -xzf "$WORK/signature_pad-$VERSION.tgz" -C "$WORK"
cp "$WORK/package/dist/signature_pad.umd.min.js" "$WORK/package/dist/signature_pad.umd.min.js.map" "$TARGET/"
cp "$WORK/package/LICENSE" "$TARGET/LICENSE"
echo "signature_pad $VERSION vendored in static/vendor/signature_pad-$VERSION"
