#!/bin/sh
# Refresh the vendored Chart.js (the delivery analytics page's charts) from its npm package at a fixed version:
#   scripts/vendor_chartjs.sh [VERSION]
# It copies the minified UMD build (it defines the global `Chart`, loaded by a plain <script> tag) with its
# source map, and the licence, into static/vendor/chart.js-VERSION/: nothing comes from the internet at run time.
# After a version change, update CHARTJS_VERSION in delivery/views_analytics.py and remove the old folder.
set -eu
VERSION="${1:-4.6.2}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/static/vendor/chart.js-$VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$TARGET"
mkdir -p "$TARGET"
(cd "$WORK" && npm pack "chart.js@$VERSION" --silent >/dev/null)
tar -xzf "$WORK/chart.js-$VERSION.tgz" -C "$WORK"
cp "$WORK/package/dist/chart.umd.min.js" "$WORK/package/dist/chart.umd.min.js.map" "$TARGET/"
cp "$WORK/package/LICENSE.md" "$TARGET/LICENSE.md"
echo "Chart.js $VERSION vendored in static/vendor/chart.js-$VERSION"
