"""The dock receiving screen in headless Chromium against the real hub, broker, simulated
scanner and scale: a scan appears live with its expected return and band, the weight comes from
the scale, an out-of-band weight raises the exception banner, the seal check completes a
receipt, and a mis-scan is cancelled with a reason (journalled with who did it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import PIN, VIEWPORTS, WebStation
from tests.web.test_pwa import SESSION_TOKEN, _axe, shoot, shots, sign_in

pytestmark = pytest.mark.browser
__all__ = ["shots"]  # the module's screenshot folder fixture

GOOD_LABEL = "1Z999AA10000000017"
MISSCAN_LABEL = "1Z999AA10000000024"
MANIFEST = [
    {
        "return_id": "R-2001",
        "label_codes": [GOOD_LABEL],
        "customer_ref": "C-91",
        "make": "Apple",
        "model": "iPhone 13",
        "declared_imei": "356938035643809",
        "quote": "240.00",
        "currency": "EUR",
        "status": "accepted",
        "weight_min_grams": 300,
        "weight_max_grams": 450,
    },
    {
        "return_id": "R-2002",
        "label_codes": [MISSCAN_LABEL],
        "customer_ref": "C-92",
        "make": "Google",
        "model": "Pixel 8",
        "quote": "300.00",
        "currency": "EUR",
        "status": "accepted",
        "weight_min_grams": 350,
        "weight_max_grams": 500,
    },
]


def token_for(station: WebStation, badge: str) -> str:
    answer = httpx.post(station.at("/api/v1/auth/sign-in"), json={"badge": badge, "pin": PIN})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


def journal(station: WebStation, token: str, type_: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        station.at("/api/v1/journal"),
        params={"type": type_, "limit": 500},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


@pytest.fixture(scope="module")
def manifest(web_station: WebStation) -> None:
    admin = token_for(web_station, "BADGE-ADA")
    answer = httpx.post(
        web_station.at("/api/v1/manifest"),
        json={"returns": MANIFEST},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert answer.status_code == 200, answer.text


def open_dock(page: Any, station: WebStation) -> None:
    sign_in(page, station)
    page.click('a[data-nav="/dock"]')
    page.wait_for_selector('.dock [data-idle="true"]')


def test_a_scan_weight_seal_and_a_cancelled_misscan_at_the_dock(
    web_station: WebStation, manifest: None, context: Any, shots: Path
) -> None:
    page = context.new_page()
    context.grant_permissions([])
    open_dock(page, web_station)
    page.wait_for_selector('.link[data-link="live"]')
    shoot(page, shots, "dock-idle")

    # a scan on the simulated scanner: the label and its expected return, live
    web_station.scanner.scan(GOOD_LABEL)
    page.wait_for_selector(f'.label-code[data-label="{GOOD_LABEL}"]')
    assert "R-2001" in page.inner_text("[data-expected]")
    assert "iPhone 13" in page.inner_text("[data-expected]")
    assert page.get_attribute("[data-band]", "data-band") == "300-450"
    assert page.get_attribute("[data-stage]", "data-stage") == "awaiting_weight"
    # the scale's weight comes in, within the band
    web_station.scale.place("412")
    page.wait_for_selector('[data-verdict="ok"]')
    assert float(page.get_attribute(".weight-figure", "data-grams")) == 412
    assert page.get_attribute("[data-stage]", "data-stage") == "awaiting_seal"
    assert not page.query_selector("[data-exception]")
    shoot(page, shots, "dock")
    page.click('button[data-seal="intact"]')
    page.wait_for_selector('.dock [data-idle="true"]')
    page.wait_for_selector('[data-said="ok"]')
    web_station.scale.place("0")

    # a mis-scan, and a box far too heavy for it: the exception is on screen at once
    web_station.scanner.scan(MISSCAN_LABEL)
    page.wait_for_selector(f'.label-code[data-label="{MISSCAN_LABEL}"]')
    web_station.scale.place("1210")
    banner = page.wait_for_selector('[data-exception="weight_out_of_band"]')
    assert "Weight outside the expected band" in banner.inner_text()
    assert "1210" in banner.inner_text()
    assert page.get_attribute("[data-verdict]", "data-verdict") == "bad"
    assert page.evaluate("() => document.documentElement.dataset.lastSignal") == "exception"
    shoot(page, shots, "dock-exception")
    found = {}
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        found[label] = _axe(page)
    page.set_viewport_size(dict(zip(("width", "height"), VIEWPORTS["handheld"], strict=True)))

    # cancel the mis-scan with its reason
    page.click("button.cancel")
    page.wait_for_selector(".cancel-panel")
    shoot(page, shots, "dock-cancel")
    page.click('button[data-reason="dock.reason_misscan"]')
    page.wait_for_selector('.dock [data-idle="true"]')
    token = page.evaluate(SESSION_TOKEN)
    cancelled = journal(web_station, token, "receipt.cancelled")
    assert [(e["subject"], e["operator"], e["payload"]["reason"]) for e in cancelled] == [
        ("R-2002", "olga", "Wrong label scanned (mis-scan)")
    ]
    received = journal(web_station, token, "package.received")
    assert [e["subject"] for e in received] == ["R-2001"]
    web_station.scale.place("0")
    assert all(not problems for problems in found.values()), found
