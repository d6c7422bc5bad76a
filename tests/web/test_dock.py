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
UNLISTED_LABEL = "1Z999AA10000000062"  # in no manifest: opens a package all the same
OFFLINE_LABELS = ["1Z999AA10000000031", "1Z999AA10000000048", "1Z999AA10000000055"]
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
    *(
        {
            "return_id": f"R-30{n}",
            "label_codes": [label],
            "customer_ref": f"C-3{n}",
            "make": "Samsung",
            "model": "Galaxy S23",
            "quote": "200.00",
            "currency": "EUR",
            "status": "accepted",
        }
        for n, label in enumerate(OFFLINE_LABELS, start=1)
    ),
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
    page.evaluate("() => window.scrollTo(0, 0)")
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
    page.evaluate("() => window.scrollTo(0, 0)")
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


def cancel_misscan(page: Any) -> None:
    page.click("button.cancel")
    page.click('button[data-reason="dock.reason_misscan"]')


def scan_and_wait(page: Any, station: WebStation, label: str) -> None:
    station.scanner.scan(label)
    page.wait_for_selector(f'.label-code[data-label="{label}"]')


def test_actions_taken_offline_are_sent_once_and_a_refusal_is_shown(
    web_station: WebStation, manifest: None, browser: Any, shots: Path
) -> None:
    width, height = VIEWPORTS["handheld"]
    # service workers off: Playwright's routing sees every request (the lost answer below)
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="en-GB", service_workers="block"
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        open_dock(page, web_station)
        page.wait_for_selector('.link[data-link="live"]')
        token = page.evaluate(SESSION_TOKEN)
        first, second, third = OFFLINE_LABELS

        # 1. the handheld loses the Wi-Fi with a package open; the cancel waits in the outbox
        scan_and_wait(page, web_station, first)
        context.set_offline(True)
        page.wait_for_selector('.link[data-link="offline"]')
        cancel_misscan(page)
        row = page.wait_for_selector('[data-outbox="pending"]')
        key = row.get_attribute("data-key")
        assert "R-301" in row.inner_text()
        page.evaluate("() => window.scrollTo(0, 0)")
        shoot(page, shots, "dock-outbox-pending")
        context.set_offline(False)
        page.wait_for_selector('[data-outbox="pending"]', state="detached")
        done = [
            e for e in journal(web_station, token, "receipt.cancelled") if e["subject"] == "R-301"
        ]
        assert [(e["operator"], e["payload"]["idempotency_key"]) for e in done] == [("olga", key)]

        # 2. the answer is lost on the way back: the resend with the same key writes nothing
        scan_and_wait(page, web_station, second)
        lost: list[str] = []
        through = [False]  # resends stay off the hub until the next box is scanned

        def lose_answer(route: Any) -> None:
            if not lost:
                lost.append(route.request.headers.get("idempotency-key", ""))
                route.fetch()  # the hub gets it and answers; the handheld never hears
                route.abort("connectionreset")
            elif through[0]:
                route.continue_()
            else:
                route.abort("internetdisconnected")

        page.route("**/api/v1/dock/cancel", lose_answer)
        cancel_misscan(page)
        row = page.wait_for_selector('[data-outbox="pending"]')
        assert row.get_attribute("data-key") == lost[0]
        # the next box is scanned before the resend: a second cancel would undo it
        scan_and_wait(page, web_station, UNLISTED_LABEL)
        through[0] = True
        # Send now (unless the outbox has just sent it by itself: the link came back)
        page.evaluate(
            '() => document.querySelector(\'[data-outbox="pending"] [data-do="send"]\')?.click()'
        )
        page.wait_for_selector('[data-outbox="pending"]', state="detached")
        assert not page.query_selector('[data-outbox="refused"]')
        assert page.get_attribute(".label-code", "data-label") == UNLISTED_LABEL  # still open
        done = [
            e for e in journal(web_station, token, "receipt.cancelled") if e["subject"] == "R-302"
        ]
        assert [e["payload"]["idempotency_key"] for e in done] == lost
        page.unroute("**/api/v1/dock/cancel")

        cancel_misscan(page)  # the unlisted box, online: done at once
        page.wait_for_selector('.dock [data-idle="true"]')

        # 3. offline again; meanwhile someone at the station cancels the package: the replay is
        # refused, and the person sees why and can discard it
        scan_and_wait(page, web_station, third)
        context.set_offline(True)
        page.wait_for_selector('.link[data-link="offline"]')
        cancel_misscan(page)
        page.wait_for_selector('[data-outbox="pending"]')
        oscar = token_for(web_station, "BADGE-OSCAR")
        answer = httpx.post(
            web_station.at("/api/v1/dock/cancel"),
            json={"reason": "box taken back to the truck"},
            headers={"Authorization": f"Bearer {oscar}"},
        )
        assert answer.status_code == 200, answer.text
        context.set_offline(False)
        refused = page.wait_for_selector('[data-outbox="refused"]')
        assert "nothing to cancel" in refused.inner_text()
        page.evaluate("() => window.scrollTo(0, 0)")
        shoot(page, shots, "dock-outbox-refused")
        done = [
            e for e in journal(web_station, token, "receipt.cancelled") if e["subject"] == "R-303"
        ]
        assert [e["operator"] for e in done] == ["oscar"]
        page.click('[data-outbox="refused"] [data-do="discard"]')
        page.wait_for_selector('[data-outbox="refused"]', state="detached")
    finally:
        context.close()
