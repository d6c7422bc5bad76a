"""docs/security.md names a test for every line of its threat model: each one must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)")


def test_every_test_the_threat_model_names_exists() -> None:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    references = set(REFERENCE.findall(text))
    assert len(references) > 20, "the threat model names its tests as `tests/…py::test_name`"
    missing = [
        f"{path}::{name}"
        for path, name in sorted(references)
        if not (ROOT / path).is_file()
        or not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.M)
    ]
    assert missing == [], f"docs/security.md names tests that do not exist: {missing}"
