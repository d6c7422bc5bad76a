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
FILES=(
    "swagger-ui-dist swagger-ui swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE"
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
