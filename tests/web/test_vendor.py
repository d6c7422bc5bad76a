"""The vendored browser libraries are exactly what package-lock.json pins, each with its licence,
and the barcode decoder's WASM is the one its JavaScript glue was built for."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from edge.web import VENDOR_DIR

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "scripts" / "vendor-web.sh").read_text(encoding="utf-8")


def _lock_versions() -> dict[str, str]:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    return {
        path.removeprefix("node_modules/"): entry["version"]
        for path, entry in lock["packages"].items()
        if path.startswith("node_modules/")
    }


def _table() -> list[tuple[str, str, list[str]]]:
    """The script's FILES table: package, folder, files."""
    body = SCRIPT.split("FILES=(", 1)[1].split("\n)", 1)[0]
    rows = []
    for line in body.splitlines():
        line = line.strip()
        if line.startswith('"'):
            package, folder, *files = line.strip('"').split()
            rows.append((package, folder, files))
    return rows


def test_every_vendored_folder_is_what_the_lockfile_pins_with_its_licence() -> None:
    pinned = _lock_versions()
    rows = _table()
    assert {folder for _, folder, _ in rows} == {p.name for p in VENDOR_DIR.iterdir()}
    for package, folder, files in rows:
        here = VENDOR_DIR / folder
        assert (here / "VERSION").read_text(encoding="utf-8").strip() == (
            f"{package}@{pinned[package]}"
        )
        assert (here / "LICENSE").stat().st_size > 0, folder
        for file in files:
            assert (here / Path(file).name).is_file(), f"{folder}/{file}"


def test_the_direct_dependencies_are_exact_versions() -> None:
    manifest = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    declared = {**manifest["dependencies"], **manifest["devDependencies"]}
    pinned = _lock_versions()
    for package, version in declared.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{package}: {version} is a range"
        assert pinned[package] == version, package


def test_the_decoder_wasm_is_the_one_its_glue_expects() -> None:
    """barcode-detector bundles zxing-wasm's JavaScript and names the WASM's SHA-256; a
    mismatched pair fails only on a handheld's first camera scan."""
    glue = (VENDOR_DIR / "barcode-detector" / "zxing-exported.js").read_text(encoding="utf-8")
    wasm = (VENDOR_DIR / "zxing-wasm" / "zxing_reader.wasm").read_bytes()
    assert wasm[:4] == b"\0asm"
    assert f'"{hashlib.sha256(wasm).hexdigest()}"' in glue
    version = (VENDOR_DIR / "zxing-wasm" / "VERSION").read_text(encoding="utf-8").strip()
    assert f"zxing-wasm@{version.partition('@')[2]}/" in glue
