"""The station's web app in headless Chromium against the real hub, broker and simulated
devices: sign-in and sign-out, the errors a person sees, the status screen and its live feed,
the offline shell, installability and an accessibility pass. Screenshots of every screen go to
a temp folder, and to docs/screens/ when scripts/pwa-screens.sh asks (EDGE_SCREENS_DIR)."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hub.live import wait_for
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, PIN, SCREENS_ENV, VIEWPORTS, WebStation

pytestmark = pytest.mark.browser

OLGA = "BADGE-OLGA"
TOM = "BADGE-TOM"  # only the wrong-PIN test uses tom: its failures hold his badge back
SCANNER_GAP_S = 0.004  # a keyboard-wedge scanner: a few ms between keys
TYPING_GAP_S = 0.15  # a person typing


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screens")


def shoot(page: Any, shots: Path, name: str) -> None:
    """The page at both sizes, into the temp folder (and docs/screens/ when asked)."""
    size = page.viewport_size
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(100)  # one layout; the shot is for people, not an assertion
        target = shots / f"{name}-{label}-{width}x{height}.png"
        page.screenshot(path=str(target))
        wanted = os.environ.get(SCREENS_ENV)
        if wanted:
            shutil.copy(target, Path(wanted) / target.name)
    page.set_viewport_size(size)


def open_app(page: Any, station: WebStation) -> None:
    page.goto(station.at("/"))
    page.wait_for_selector("#badge")


def keys(page: Any, text: str, gap_s: float) -> None:
    """Keys into the focused field as a device would send them, then Enter. The events carry
    their own times (CDP `timestamp`), so a busy test machine cannot make a scanner's burst
    look like typing."""
    cdp = page.context.new_cdp_session(page)
    start = time.time()
    try:
        for n, char in enumerate([*text, "\r"]):
            at = start + n * gap_s
            key = "Enter" if char == "\r" else char
            down = {"type": "keyDown", "key": key, "text": char, "timestamp": at}
            if char == "\r":
                down |= {"code": "Enter", "windowsVirtualKeyCode": 13}
            cdp.send("Input.dispatchKeyEvent", down)
            cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "timestamp": at})
    finally:
        cdp.detach()


def scan_badge(page: Any, badge: str) -> None:
    page.focus("#badge")
    keys(page, badge, SCANNER_GAP_S)
    page.wait_for_selector("#pin")


def enter_pin(page: Any, pin: str) -> None:
    page.fill("#pin", pin)
    page.keyboard.press("Enter")


def sign_in(page: Any, station: WebStation, badge: str = OLGA) -> None:
    open_app(page, station)
    scan_badge(page, badge)
    enter_pin(page, PIN)
    page.wait_for_selector(".status .cards")


SESSION_TOKEN = """async () => {
    const db = await new Promise((ok, ko) => {
        const r = indexedDB.open("edge-station"); r.onsuccess = () => ok(r.result);
        r.onerror = ko; });
    const session = await new Promise((ok) => {
        const r = db.transaction("kv").objectStore("kv").get("session");
        r.onsuccess = () => ok(r.result); });
    return session.token;
}"""


def journal_types(station: WebStation, page: Any) -> list[str]:
    """The journal's event types, read through the API with the page's own session."""
    token = page.evaluate(SESSION_TOKEN)
    answer = page.context.request.get(
        station.at("/api/v1/journal?limit=500"), headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.ok, answer.text()
    return [event["type"] for event in answer.json()["events"]]


def test_sign_in_with_a_scanned_badge_then_sign_out(
    web_station: WebStation, page: Any, shots: Path
) -> None:
    open_app(page, web_station)
    assert page.inner_text(".bar .person") == "Nobody signed in"
    shoot(page, shots, "sign-in")
    # a person typing is told apart from the scanner: typed text is an operator id
    page.focus("#badge")
    keys(page, "olga", TYPING_GAP_S)
    assert page.get_attribute(".who-step", "data-source") == "typed"
    assert page.inner_text(".who-step") == "Operator ID olga"
    page.click("text=Back")
    scan_badge(page, OLGA)
    assert page.get_attribute(".who-step", "data-source") == "scan"
    shoot(page, shots, "sign-in-pin")
    enter_pin(page, PIN)
    page.wait_for_selector(".status .cards")
    assert page.inner_text(".bar .person") == "Signed in: Olga (operator)"
    assert page.get_attribute(".bar [data-operator]", "data-operator") == "olga"
    page.wait_for_selector('.link[data-link="live"]')
    types = journal_types(web_station, page)
    assert types.count("operator.signed_in") >= 1
    signed_out_before = types.count("operator.signed_out")

    page.click("text=Sign out")
    page.wait_for_selector("#badge")
    assert page.inner_text(".bar .person") == "Nobody signed in"
    assert page.evaluate(
        """() => new Promise((ok) => { const r = indexedDB.open("edge-station");
            r.onsuccess = () => { const g = r.result.transaction("kv").objectStore("kv")
                .get("session"); g.onsuccess = () => ok(g.result === undefined); }; })"""
    )
    # the hub journalled the sign-out: sign in again to read the journal
    scan_badge(page, OLGA)
    enter_pin(page, PIN)
    page.wait_for_selector(".status .cards")
    assert journal_types(web_station, page).count("operator.signed_out") == signed_out_before + 1


def test_a_wrong_pin_and_a_held_badge_are_said_plainly(
    web_station: WebStation, page: Any, shots: Path
) -> None:
    open_app(page, web_station)
    scan_badge(page, TOM)
    enter_pin(page, "0000")
    alert = page.wait_for_selector('[role="alert"]')
    assert alert.inner_text() == "Badge or PIN not recognised. Try again."
    assert page.evaluate("() => document.documentElement.dataset.lastSignal") == "exception"
    shoot(page, shots, "sign-in-wrong-pin")
    # three failures are free; then the hub holds the badge back (429 sign_in_held)
    for _ in range(5):
        with page.expect_response("**/api/v1/auth/sign-in") as answer:
            enter_pin(page, "0000")
        status = answer.value.status
        page.wait_for_function(
            "() => document.querySelector('#pin') && !document.querySelector('#pin').disabled"
        )
        text = page.inner_text('[role="alert"]')
        assert status in (401, 429), status
        if text.startswith("Too many wrong tries"):
            break
    assert text.startswith("Too many wrong tries. Wait ") and text.endswith(
        " seconds, then try again."
    ), text
    assert int(text.split("Wait ")[1].split()[0]) >= 1
    shoot(page, shots, "sign-in-held")


def test_status_shows_the_simulated_devices_and_the_live_feed_resumes(
    web_station: WebStation, context: Any, shots: Path
) -> None:
    page = context.new_page()
    sign_in(page, web_station)
    scanner = page.wait_for_selector('.device[data-device="dock-scanner"][data-state="online"]')
    assert "Online" in scanner.inner_text()
    scale = page.wait_for_selector('.device[data-device="dock-scale"][data-state="online"]')
    assert scale.query_selector(".state").inner_text() == "Online"
    assert page.inner_text('.card[data-card="clock"] h2') == "Clock"
    assert "free of" in page.inner_text('.card[data-card="disk"]')
    # a scan on the simulated scanner reaches the screen through the live feed
    newest = page.evaluate(
        "() => Math.max(0, ...[...document.querySelectorAll('.activity li')]"
        ".map((li) => Number(li.dataset.seq)))"
    )
    # a label no other test scans: xdist may run this module's tests on one station in any order
    web_station.scanner.scan("1Z999AA10123456802")
    page.wait_for_selector('.device[data-device="dock-scanner"] .reading')
    assert page.inner_text('.device[data-device="dock-scanner"] .reading') == ("1Z999AA10123456802")
    # no manifest here: the label is scanned, then raised as an exception (the scan's last event)
    page.wait_for_function(
        "(newest) => [...document.querySelectorAll('.activity li[data-type=\"exception.raised\"]')]"
        ".some((li) => +li.dataset.seq > newest)",
        arg=newest,
    )
    seen = page.evaluate("() => Number(document.querySelector('.activity li').dataset.seq)")
    assert page.get_attribute(".activity li", "data-type") == "exception.raised"
    shoot(page, shots, "status")
    token = page.evaluate(SESSION_TOKEN)
    page.close()

    # while no screen is open, the station goes on; the next screen resumes from the last
    # seq it saw: it fetches what came since, and shows nothing twice
    web_station.scanner.scan("1Z999AA10123456791")
    wait_for(lambda: _hub_journal_size(web_station, token) >= seen + 2, what="2nd scan")
    after = _hub_journal_size(web_station, token)
    page = context.new_page()
    page.goto(web_station.at("/app/#/status"))
    page.wait_for_function(
        "(after) => document.querySelector('.activity li') && "
        "+document.querySelector('.activity li').dataset.seq >= after",
        arg=after,
    )
    shown = page.evaluate(
        "() => [...document.querySelectorAll('.activity li')].map((li) => +li.dataset.seq)"
    )
    # what came while away, once each, above what the last screen had shown (kept offline)
    assert shown == sorted(set(shown), reverse=True), shown
    newest = shown[0]  # the scan's events may still be coming: `after` is a floor
    assert shown[: newest - seen] == list(range(newest, seen, -1)), (shown, seen, after)
    assert seen in shown


def test_the_feed_reconnects_by_itself_and_catches_up_what_it_missed(
    web_station: WebStation, context: Any
) -> None:
    page = context.new_page()
    sign_in(page, web_station)
    page.wait_for_selector('.link[data-link="live"]')
    token = page.evaluate(SESSION_TOKEN)
    before = _hub_journal_size(web_station, token)
    context.set_offline(True)  # the handheld loses the Wi-Fi; the station goes on
    try:
        page.wait_for_selector('.link[data-link="offline"]')
        web_station.scanner.scan("1Z999AA10123456784")
        # asked from here, not the browser: the scan's two events are in while it is away
        wait_for(lambda: _hub_journal_size(web_station, token) >= before + 2, what="the scan")
    finally:
        context.set_offline(False)
    page.wait_for_selector('.link[data-link="live"]')
    page.wait_for_function(
        "(seq) => [...document.querySelectorAll('.activity li')].some((li) => +li.dataset.seq "
        "> seq && li.dataset.type === 'exception.raised')",
        arg=before,
    )
    shown = page.evaluate(
        "() => [...document.querySelectorAll('.activity li')].map((li) => +li.dataset.seq)"
    )
    assert shown == list(range(shown[0], shown[0] - len(shown), -1)), shown  # none twice
    assert before + 1 in shown and before + 2 in shown


def test_a_session_ended_elsewhere_signs_the_screen_out(
    web_station: WebStation, context: Any
) -> None:
    page = context.new_page()
    sign_in(page, web_station)
    page.wait_for_selector('.link[data-link="live"]')
    token = page.evaluate(SESSION_TOKEN)
    ended = httpx.post(
        web_station.at("/api/v1/auth/sign-out"), headers={"Authorization": f"Bearer {token}"}
    )
    assert ended.status_code == 204
    page.wait_for_selector("#badge")  # the stream closed with 4401: back to the sign-in
    page.wait_for_function(  # the notice replaces the welcome, whichever renders first
        "() => document.querySelector('main [role=\"status\"]')?.innerText === "
        "'Your session ended. Sign in again.'"
    )
    assert page.inner_text(".bar .person") == "Nobody signed in"


def _hub_journal_size(station: WebStation, token: str) -> int:
    answer = httpx.get(
        station.at("/api/v1/journal?limit=1"), headers={"Authorization": f"Bearer {token}"}
    )
    answer.raise_for_status()
    return int(answer.json()["size"])


def test_the_service_worker_serves_the_shell_and_last_seen_status_offline(
    web_station: WebStation, context: Any, shots: Path
) -> None:
    page = context.new_page()
    sign_in(page, web_station)
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()  # now through the worker: the status it fetches is kept as last seen
    page.wait_for_selector('.device[data-state="online"]')
    context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector(".status .cards")
        page.wait_for_selector('.link[data-link="offline"]')
        assert page.inner_text(".link") == "Station unreachable"
        assert page.inner_text(".bar .person") == "Signed in: Olga (operator)"
        banner = page.inner_text('.status [role="status"]')
        assert banner.startswith("Station unreachable: showing what was seen at ")
        assert page.query_selector('.device[data-device="dock-scanner"]') is not None
        shoot(page, shots, "status-offline")
    finally:
        context.set_offline(False)


def test_the_manifest_is_installable_as_chromium_judges_it(
    web_station: WebStation, browser: Any, tmp_path: Path
) -> None:
    """Chromium says nothing stops installing the app (a persistent profile: an incognito one
    is never installable)."""
    persistent = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
    )
    try:
        page = persistent.new_page()
        open_app(page, web_station)
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        cdp = persistent.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [], manifest["errors"]
        parsed = json.loads(manifest["data"])
        assert parsed["start_url"] == "/app/" and parsed["display"] == "standalone"
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    finally:
        persistent.close()


@pytest.mark.parametrize("context", ["de-DE"], indirect=True)
def test_the_catalogue_speaks_german(web_station: WebStation, page: Any, shots: Path) -> None:
    open_app(page, web_station)
    assert page.evaluate("() => document.documentElement.lang") == "de"
    assert page.inner_text("h1") == "Anmelden"
    assert page.inner_text("label[for=badge]") == "Ausweis scannen oder Bediener-ID eingeben"
    shoot(page, shots, "sign-in-de")


def test_no_serious_accessibility_violations(web_station: WebStation, context: Any) -> None:
    page = context.new_page()
    found: dict[str, list[str]] = {}
    open_app(page, web_station)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        found[f"sign-in {label}"] = _axe(page)
    sign_in(page, web_station)
    page.wait_for_selector('.device[data-state="online"]')
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        found[f"status {label}"] = _axe(page)
    assert all(not problems for problems in found.values()), found


def _axe(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url="/vendor/axe-core/axe.min.js")
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_camera_decoder_loads_its_wasm_from_the_hub_only_when_asked(
    web_station: WebStation, context: Any
) -> None:
    """Chromium on Linux has no BarcodeDetector: the vendored ponyfill decodes a QR code with
    the WASM served by the hub (no CDN), and the shell did not load either before."""
    import segno

    picture = io.BytesIO()
    segno.make_qr("RET-2026-000123", error="m").save(picture, kind="png", scale=8, border=4)
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    open_app(page, web_station)
    assert not any("zxing" in url or "barcode-detector" in url for url in requested)
    found = page.evaluate(
        """async (png) => {
            const { loadDecoder } = await import("/app/lib/decoder.js");
            const { detector, source } = await loadDecoder();
            const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
            const image = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
            const codes = await detector.detect(image);
            return { source, codes: codes.map((c) => [c.format, c.rawValue]) };
        }""",
        base64.b64encode(picture.getvalue()).decode(),
    )
    assert found == {"source": "ponyfill", "codes": [["qr_code", "RET-2026-000123"]]}
    wasm = [url for url in requested if url.endswith(".wasm")]
    assert wasm == [web_station.at("/vendor/zxing-wasm/zxing_reader.wasm")]
    assert all(url.startswith(web_station.url) for url in requested)
