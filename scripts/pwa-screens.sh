#!/usr/bin/env bash
# Re-take the PWA's pictures in docs/screens/ (each screen at 360x640 and 1280x800): the
# browser tests write them to a temp folder, and to the folder EDGE_SCREENS_DIR names.
# Look at each before committing: would a person with gloves read it at a glance?
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/screens
EDGE_SCREENS_DIR="$PWD/docs/screens" python -m pytest -q -p no:cacheprovider tests/web/test_pwa.py tests/web/test_dock.py
