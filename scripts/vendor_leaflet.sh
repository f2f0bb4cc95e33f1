#!/bin/sh
# Refresh the vendored Leaflet (the delivery zones map) from its npm package at a fixed version:
#   scripts/vendor_leaflet.sh [VERSION]
# It unpacks the package's dist/ (leaflet.js with its source map, leaflet.css, images/) and LICENSE into
# static/vendor/leaflet-VERSION/. Nothing is loaded from the internet at run time. After a version change,
# update LEAFLET_VERSION in delivery/views.py (the templates read it) and remove the old folder.
set -eu
VERSION="${1:-1.9.4}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/static/vendor/leaflet-$VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack "leaflet@$VERSION" --silent >/dev/null)
tar -xzf "$WORK"/leaflet-"$VERSION".tgz -C "$WORK"
rm -rf "$TARGET"
mkdir -p "$TARGET/images"
# The source map too: leaflet.js names it, and the hashed static files storage follows that reference.
cp "$WORK/package/dist/leaflet.js" "$WORK/package/dist/leaflet.js.map" "$WORK/package/dist/leaflet.css" "$TARGET/"
cp "$WORK/package/dist/images/"*.png "$TARGET/images/"
cp "$WORK/package/LICENSE" "$TARGET/LICENSE"
echo "Leaflet $VERSION vendored in static/vendor/leaflet-$VERSION"
