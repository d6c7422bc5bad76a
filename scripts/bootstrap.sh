#!/usr/bin/env bash
# Install what the station needs on a fresh Debian / Raspberry Pi OS machine, then the .venv.
# Idempotent: a second run installs nothing. Used by `make demo` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# Debian packages the current code needs: the MQTT hub (mosquitto, and its clients for
# debugging), zbar for pyzbar, a compiler and kernel headers to build evdev, and the PostgreSQL
# server whose binaries the upstream ledger's tests start a throwaway cluster from. Later issues
# add chromium here as its code lands.
APT_PACKAGES=(python3 python3-venv python3-dev sqlite3 ca-certificates
    mosquitto mosquitto-clients libzbar0 gcc linux-libc-dev postgresql chromium)

log() { printf 'bootstrap: %s\n' "$*" >&2; }

missing_apt() {
    local pkg missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    printf '%s\n' "${missing[@]}"
}

install_apt() {
    command -v dpkg-query >/dev/null || { log "not a Debian system: install ${APT_PACKAGES[*]} yourself"; return 0; }
    mapfile -t missing < <(missing_apt "${APT_PACKAGES[@]}" | sed '/^$/d')
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { log "need root or sudo to install: ${missing[*]}"; exit 1; }
        sudo=(sudo)
    fi
    log "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_venv() {
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        log "Python 3.11 or newer is needed (found $("$PYTHON" --version))"; exit 1; }
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        log "installing Python packages into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e '.[test]'
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

install_apt
install_venv
