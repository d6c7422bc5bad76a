#!/usr/bin/env bash
# Re-vendor the browser libraries the hub serves itself (no CDN: a station works offline).
# Installs exactly what package-lock.json pins (`npm ci`, in a temporary folder, so no
# node_modules is left in the repository), then copies the few files each package needs into
# edge/web/vendor/<name>/. To upgrade: change the version in package.json, run
# `npm install --package-lock-only`, then this script, and commit the lock and the vendored files.
set -euo pipefail
cd "$(dirname "$0")/.."

VENDOR=edge/web/vendor
# npm package -> folder under edge/web/vendor : the files taken from the package, by path.
# Paths may name subfolders; each file lands flat in the package's folder. Browser code is ES
# modules imported as is (the app's import map names preact, preact/hooks, htm and idb), or, for
# the service worker, Workbox's classic prod builds that workbox-sw loads with importScripts.
FILES=(
    "swagger-ui-dist swagger-ui swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE"
    "preact preact dist/preact.mjs hooks/dist/hooks.mjs LICENSE"
    "htm htm dist/htm.mjs LICENSE"
    "idb idb build/index.js LICENSE"
    "workbox-sw workbox-sw build/workbox-sw.js LICENSE"
    "workbox-core workbox-core build/workbox-core.prod.js LICENSE"
    "workbox-precaching workbox-precaching build/workbox-precaching.prod.js LICENSE"
    "workbox-routing workbox-routing build/workbox-routing.prod.js LICENSE"
    "workbox-strategies workbox-strategies build/workbox-strategies.prod.js LICENSE"
    "workbox-expiration workbox-expiration build/workbox-expiration.prod.js LICENSE"
    # the camera's decoder where the browser has no BarcodeDetector: loaded on first camera use
    "barcode-detector barcode-detector dist/es/ponyfill.js dist/es/zxing-exported.js LICENSE"
    # the WASM the ponyfill's bundled glue was built for (its ZXING_WASM_SHA256; a test checks)
    "zxing-wasm zxing-wasm dist/reader/zxing_reader.wasm LICENSE"
    # for the browser tests' accessibility pass; never precached by the app
    "axe-core axe-core axe.min.js LICENSE"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp package.json package-lock.json "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

for entry in "${FILES[@]}"; do
    read -r package folder files <<<"$entry"
    version=$(node -p "require('$work/node_modules/$package/package.json').version")
    rm -rf "${VENDOR:?}/$folder"
    mkdir -p "$VENDOR/$folder"
    for file in $files; do
        cp "$work/node_modules/$package/$file" "$VENDOR/$folder/"
    done
    echo "$package@$version" >"$VENDOR/$folder/VERSION"
    printf 'vendored %s@%s into %s/%s\n' "$package" "$version" "$VENDOR" "$folder" >&2
done
