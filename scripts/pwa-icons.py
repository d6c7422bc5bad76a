"""Render the PWA's icons (edge/web/app/icons/*.svg) to the PNGs the manifest names, once, with
Debian's chromium; commit the PNGs. Run: python scripts/pwa-icons.py"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parents[1] / "edge" / "web" / "app" / "icons"
RENDERS = [("icon.svg", "icon-192.png", 192), ("icon.svg", "icon-512.png", 512)]
RENDERS += [("maskable.svg", "maskable-512.png", 512)]


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for source, target, size in RENDERS:
            page = browser.new_page(viewport={"width": size, "height": size})
            svg = (ICONS / source).read_text(encoding="utf-8")
            page.set_content(
                f"<style>html,body{{margin:0;background:transparent}}svg{{width:{size}px;"
                f"height:{size}px;display:block}}</style>{svg}"
            )
            page.screenshot(path=str(ICONS / target), omit_background=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
