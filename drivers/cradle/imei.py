"""Is what the phone answered an IMEI? 15 digits with a valid Luhn check digit, nothing else.

An invalid answer is kept as `raw`, cleaned and bounded (`clean.clean_text`): a phone may answer
anything, of any length, with control characters in it.
"""

from __future__ import annotations

from stdnum import imei as stdnum_imei

from drivers.cradle.clean import clean_text
from drivers.cradle.report import Imei

MAX_SCAN = 4096  # characters of an answer looked at for control characters


def read_imei(raw: str | None, source: str, *, missing_reason: str = "") -> Imei:
    """Classify `raw`: valid, invalid (raw kept), or unavailable when the phone gave nothing."""
    if raw is None or not raw.strip():
        return Imei("unavailable", source, reason=missing_reason or "the phone returned no IMEI")
    text = raw.strip()
    shown = clean_text(text)
    if any(not ch.isprintable() for ch in text[:MAX_SCAN]):
        return Imei("invalid", source, raw=shown, reason="contains control characters")
    if not (len(text) == 15 and text.isascii() and text.isdigit()):
        return Imei("invalid", source, raw=shown, reason=f"not 15 digits ({len(text)} characters)")
    if not stdnum_imei.is_valid(text):
        return Imei("invalid", source, raw=text, reason="Luhn check digit does not match")
    if len(set(text)) == 1:  # 000000000000000 passes Luhn: what a modem with a lost IMEI reports
        return Imei("invalid", source, raw=text, reason="placeholder IMEI (one digit repeated)")
    return Imei("valid", source, value=text, raw=text)
