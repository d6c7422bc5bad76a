"""The operator store on a real SQLite file: operators, peppered PINs, sign-in backoff per client
address, sessions, last-admin rule, file modes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from edge.operators import (
    PEPPER_FILE,
    LastAdminError,
    OperatorConflictError,
    OperatorInputError,
    OperatorStore,
    OperatorStoreError,
    PinHasher,
    PinPolicyError,
    Role,
    SignInBackoff,
    SignInError,
    UnknownOperatorError,
)
from edge.operators.pins import peppered

NOW = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
PIN = "739164"
HANDHELD = "10.0.0.5"  # the client address sign-ins come from unless a test says otherwise


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OperatorStore]:
    with OperatorStore(tmp_path / "operators.db") as s:
        s.add_operator("op-admin", "Ada Admin", Role.ADMIN, PIN, badge="ADM-0001", now=NOW)
        s.add_operator("op-0042", "Sam Berg", Role.OPERATOR, PIN, badge="EMP-004217", now=NOW)
        yield s


def refusal(store: OperatorStore, credential: str, pin: str, **kw: object) -> SignInError:
    by = kw.pop("by", "badge")
    now = kw.pop("now", NOW)
    client = kw.pop("client", HANDHELD)
    with pytest.raises(SignInError) as refused:
        store.sign_in(credential, pin, station="dock-1", now=now, by=by, client=client)  # type: ignore[arg-type]
    return refused.value


def file_bytes(folder: Path) -> bytes:
    """Everything SQLite has on disk for the store: main file, WAL, shared memory."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("operators.db*")))


def test_operators_are_listed_without_their_pin_hash(store: OperatorStore) -> None:
    listed = store.list_operators()
    assert [o.operator_id for o in listed] == ["op-0042", "op-admin"]
    sam = store.get("op-0042")
    assert sam is not None and sam.role is Role.OPERATOR and sam.badge == "EMP-004217"
    assert not hasattr(sam, "pin_hash")
    assert store.get("op-9999") is None
    assert store.count_admins() == 1


def test_pin_is_stored_only_as_an_argon2id_hash(store: OperatorStore) -> None:
    hashes = [
        row[0] for row in sqlite3.connect(store.path).execute("SELECT pin_hash FROM operators")
    ]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert PIN.encode() not in file_bytes(store.path.parent)


def test_duplicates_are_refused(store: OperatorStore) -> None:
    with pytest.raises(OperatorConflictError, match="already exists"):
        store.add_operator("op-0042", "Other", Role.OPERATOR, "4826", now=NOW)
    with pytest.raises(OperatorConflictError, match="op-0042"):
        store.add_operator("op-0043", "Other", Role.OPERATOR, "4826", badge="EMP-004217", now=NOW)
    # badges are case-sensitive: a different barcode text is a different badge
    store.add_operator("op-0043", "Other", Role.OPERATOR, "4826", badge="emp-004217", now=NOW)
    with pytest.raises(OperatorConflictError):
        store.update_operator("op-0043", badge="EMP-004217", now=NOW)


def test_bad_input_is_refused_and_nothing_is_written(store: OperatorStore) -> None:
    with pytest.raises(OperatorInputError, match="operator id"):
        store.add_operator("op 42", "Sam", Role.OPERATOR, "4826", now=NOW)
    with pytest.raises(OperatorInputError, match="name"):
        store.add_operator("op-0050", "   ", Role.OPERATOR, "4826", now=NOW)
    with pytest.raises(PinPolicyError):
        store.add_operator("op-0051", "Kim", Role.OPERATOR, "1234", now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.add_operator("op-0052", "Kim", Role.OPERATOR, "4826", now=datetime(2026, 3, 2))  # noqa: DTZ001
    assert [o.operator_id for o in store.list_operators()] == ["op-0042", "op-admin"]


def test_sign_in_by_badge_or_by_operator_id(store: OperatorStore) -> None:
    by_badge = store.sign_in(
        "EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD
    )
    by_code = store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client=HANDHELD)
    assert by_badge.operator.operator_id == by_code.operator.operator_id == "op-0042"
    assert by_badge.token != by_code.token
    assert by_badge.expires_at == NOW + timedelta(hours=12)
    principal = store.authenticate(by_badge.token, NOW + timedelta(hours=1))
    assert principal == by_badge.principal
    assert principal is not None and principal.station == "dock-1"
    # a badge is not an operator id and vice versa
    assert refusal(store, "op-0042", PIN, by="badge").reason == "unknown"
    assert refusal(store, "EMP-004217", PIN, by="code").reason == "unknown"


def test_unknown_badge_and_wrong_pin_carry_the_same_message(store: OperatorStore) -> None:
    unknown = refusal(store, "EMP-999999", PIN)
    wrong = refusal(store, "EMP-004217", "482604")
    assert (unknown.reason, wrong.reason) == ("unknown", "wrong_pin")
    assert str(unknown) == str(wrong) == "badge or PIN not recognised"


def test_unknown_badge_still_spends_a_pin_verification(tmp_path: Path) -> None:
    class CountingHasher(PinHasher):
        dummies = 0

        def verify_nothing(self, pin: str) -> None:
            CountingHasher.dummies += 1
            super().verify_nothing(pin)

    with OperatorStore(tmp_path / "operators.db", hasher=CountingHasher()) as store:
        refusal(store, "EMP-999999", PIN)
    assert CountingHasher.dummies == 1


def test_failures_hold_back_the_address_not_the_person(store: OperatorStore) -> None:
    for _ in range(3):
        assert refusal(store, "EMP-004217", "482604", client="10.0.0.66").reason == "wrong_pin"
    fourth = refusal(store, "EMP-004217", "482604", client="10.0.0.66")
    assert fourth.reason == "held_back" and fourth.held_until == NOW + timedelta(seconds=2)
    assert fourth.retry_after_seconds == 2
    # held back: even the right PIN from that address waits, and is not checked
    assert refusal(store, "EMP-004217", PIN, client="10.0.0.66").reason == "held_back"
    # Sam at his own handheld is not held back, and his success does not free the stranger
    store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD)
    assert refusal(store, "EMP-004217", PIN, client="10.0.0.66").reason == "held_back"
    # nor is his operator id from the stranger's address (another credential)
    store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client="10.0.0.66")


def test_hold_doubles_and_a_correct_pin_clears_it(store: OperatorStore) -> None:
    now = NOW
    holds = []
    for _ in range(6):
        refused = refusal(store, "EMP-004217", "482604", now=now)
        if refused.held_until is not None:
            holds.append((refused.held_until - now).total_seconds())
            now = refused.held_until
    assert holds == [2, 4, 8]
    sam = store.get("op-0042")
    assert sam is not None and sam.failed_attempts == 6 and sam.locked_until == now
    store.sign_in("EMP-004217", PIN, station="dock-1", now=now, by="badge", client=HANDHELD)
    sam = store.get("op-0042")
    assert sam is not None and sam.failed_attempts == 0 and sam.locked_until is None
    for _ in range(3):  # counting starts again
        assert refusal(store, "EMP-004217", "482604", now=now).reason == "wrong_pin"


def test_unknown_badges_are_held_back_exactly_like_known_ones(store: OperatorStore) -> None:
    known = [refusal(store, "EMP-004217", "482604", client="10.0.0.7") for _ in range(5)]
    unknown = [refusal(store, "EMP-999999", "482604", client="10.0.0.8") for _ in range(5)]
    assert [(r.held_until, str(r)) for r in known] == [(r.held_until, str(r)) for r in unknown]
    assert [r.reason for r in unknown] == ["unknown"] * 3 + ["held_back"] * 2


def test_an_address_is_held_back_over_all_badges_it_tries(tmp_path: Path) -> None:
    backoff = SignInBackoff(free_failures=3, address_free_failures=4)
    with OperatorStore(tmp_path / "operators.db", backoff=backoff) as store:
        store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, badge="EMP-004217", now=NOW)
        for n in range(4):
            assert refusal(store, f"EMP-{n:06d}", PIN, client="10.0.0.66").reason == "unknown"
        assert refusal(store, "EMP-777777", PIN, client="10.0.0.66").reason == "held_back"
        assert refusal(store, "EMP-004217", PIN, client="10.0.0.66").reason == "held_back"
        store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD)


def test_failure_counts_are_forgotten_and_bounded(tmp_path: Path) -> None:
    backoff = SignInBackoff(free_failures=1, max_hold_seconds=60, forget_after_seconds=120)
    with OperatorStore(tmp_path / "operators.db", backoff=backoff) as store:
        store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, badge="EMP-004217", now=NOW)
        refusal(store, "EMP-004217", "482604")
        assert refusal(store, "EMP-004217", "482604").reason == "held_back"
        later = NOW + timedelta(seconds=121)
        assert refusal(store, "EMP-004217", "482604", now=later).reason == "wrong_pin"
        rows = sqlite3.connect(store.path).execute("SELECT count(*) FROM sign_in_failures")
        assert rows.fetchone()[0] == 2  # this pair and this address: the older ones forgotten


def test_admin_unlock_frees_every_address(tmp_path: Path) -> None:
    backoff = SignInBackoff(free_failures=1)
    with OperatorStore(tmp_path / "operators.db", backoff=backoff) as store:
        store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, badge="EMP-004217", now=NOW)
        for client in ("10.0.0.7", "10.0.0.8"):
            for by, credential in (("code", "op-0042"), ("badge", "EMP-004217")):
                assert refusal(store, credential, "482604", by=by, client=client).reason == (
                    "wrong_pin"
                )
                refusal(store, credential, "482604", by=by, client=client)
                assert refusal(store, credential, PIN, by=by, client=client).reason == "held_back"
        assert store.get("op-0042").locked_until is not None  # type: ignore[union-attr]
        unlocked = store.unlock("op-0042", now=NOW)
        assert unlocked.locked_until is None and unlocked.failed_attempts == 0
        store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client="10.0.0.7")
        store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client="10.0.0.8")
        with pytest.raises(UnknownOperatorError):
            store.unlock("op-9999", now=NOW)


def test_a_copied_database_is_useless_without_the_pepper(store: OperatorStore) -> None:
    (pin_hash,) = (
        sqlite3.connect(store.path)
        .execute("SELECT pin_hash FROM operators WHERE operator_id = 'op-0042'")
        .fetchone()
    )
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(pin_hash, PIN)
    pepper_path = store.path.parent / "keys" / PEPPER_FILE
    pepper = bytes.fromhex(pepper_path.read_text())
    assert pepper not in file_bytes(store.path.parent)
    assert pepper.hex().encode() not in file_bytes(store.path.parent)
    assert PasswordHasher().verify(pin_hash, peppered(PIN, pepper))  # with keys/: it does


def test_the_pepper_is_made_once_and_kept_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with OperatorStore(tmp_path / "station" / "operators.db") as store:
            store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, now=NOW)
    finally:
        os.umask(old)
    keys = tmp_path / "station" / "keys"
    pepper = (keys / PEPPER_FILE).read_bytes()
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / PEPPER_FILE).stat().st_mode) == 0o600
    with OperatorStore(tmp_path / "station" / "operators.db") as reopened:
        reopened.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client=HANDHELD)
    assert (keys / PEPPER_FILE).read_bytes() == pepper
    (keys / PEPPER_FILE).chmod(0o644)
    with pytest.raises(OperatorStoreError, match="readable by others"):
        OperatorStore(tmp_path / "station" / "operators.db")


def test_unpeppered_hashes_of_earlier_versions_verify_then_get_peppered(tmp_path: Path) -> None:
    path = tmp_path / "operators.db"
    with OperatorStore(path) as store:
        store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, now=NOW)
    with sqlite3.connect(path) as db:  # what an earlier version stored: argon2id of the bare PIN
        db.execute("UPDATE operators SET pin_hash = ?, pin_peppered = 0", (PinHasher().hash(PIN),))
    with OperatorStore(path) as store:
        assert refusal(store, "op-0042", "482604", by="code").reason == "wrong_pin"
        store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client=HANDHELD)
        (pin_hash, flag) = (
            sqlite3.connect(path).execute("SELECT pin_hash, pin_peppered FROM operators").fetchone()
        )
        assert flag == 1
        with pytest.raises(VerifyMismatchError):
            PasswordHasher().verify(pin_hash, PIN)
        store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client=HANDHELD)


def test_unpeppered_hashes_are_sealed_as_soon_as_the_store_opens(tmp_path: Path) -> None:
    """After an upgrade, an operator who has not signed in since (an admin seldom at this
    station) must not be the one whose PIN a copied database gives away offline."""
    path = tmp_path / "operators.db"
    with OperatorStore(path) as store:
        store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, now=NOW)
    legacy = PinHasher().hash(PIN)
    with sqlite3.connect(path) as db:  # what an earlier version stored: argon2id of the bare PIN
        db.execute("UPDATE operators SET pin_hash = ?, pin_peppered = 0", (legacy,))
    assert legacy.encode() in file_bytes(tmp_path)
    with OperatorStore(path) as store:
        assert legacy.encode() not in file_bytes(tmp_path)  # nowhere: not in the WAL either
        (stored,) = sqlite3.connect(path).execute("SELECT pin_hash FROM operators").fetchone()
        with pytest.raises((VerifyMismatchError, InvalidHashError)):
            PasswordHasher().verify(stored, PIN)
        assert refusal(store, "op-0042", "482604", by="code").reason == "wrong_pin"
        store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client=HANDHELD)
    with OperatorStore(path) as store:  # peppered at that sign-in, as before
        store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client=HANDHELD)


def test_a_lost_pepper_is_logged_and_a_new_pin_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "operators.db"
    with OperatorStore(path) as store:
        store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, now=NOW)
    (tmp_path / "keys" / PEPPER_FILE).unlink()
    with OperatorStore(path) as store:
        assert "operators=1 whose PINs used the old one" in caplog.text
        assert refusal(store, "op-0042", PIN, by="code").reason == "wrong_pin"
        store.set_pin("op-0042", "482604", now=NOW)
        store.sign_in("op-0042", "482604", station="dock-1", now=NOW, by="code", client=HANDHELD)


def test_files_are_private_even_under_a_loose_umask(tmp_path: Path) -> None:
    folder = tmp_path / "station"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)  # a data folder of an earlier version
    old = os.umask(0o022)
    try:
        with OperatorStore(folder / "operators.db") as store:
            store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, now=NOW)
            store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client=HANDHELD)
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {"operators.db", "operators.db-wal", "operators.db-shm", "keys"} <= set(modes)
    assert modes == {name: 0o700 if name == "keys" else 0o600 for name in modes}


def test_disabled_operator_is_told_only_with_the_right_pin(store: OperatorStore) -> None:
    store.update_operator("op-0042", disabled=True, now=NOW)
    assert refusal(store, "EMP-004217", "482604").reason == "wrong_pin"
    assert refusal(store, "EMP-004217", PIN).reason == "disabled"


def test_token_is_stored_only_as_its_sha256(store: OperatorStore) -> None:
    session = store.sign_in(
        "EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD
    )
    on_disk = file_bytes(store.path.parent)
    assert session.token.encode() not in on_disk
    assert session.token[:12].encode() not in on_disk
    stored = sqlite3.connect(store.path).execute("SELECT token_sha256 FROM sessions").fetchall()
    assert stored == [(hashlib.sha256(session.token.encode()).hexdigest(),)]


def test_expired_revoked_and_unknown_tokens_are_refused(store: OperatorStore) -> None:
    session = store.sign_in(
        "EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD
    )
    assert store.authenticate(session.token, session.expires_at - timedelta(seconds=1))
    assert store.authenticate(session.token, session.expires_at) is None
    assert store.authenticate("not-a-token", NOW) is None
    assert store.authenticate("", NOW) is None
    assert store.sign_out(session.token, NOW)
    assert store.authenticate(session.token, NOW) is None
    assert not store.sign_out(session.token, NOW)  # already ended


def test_role_change_or_disabling_ends_sessions(store: OperatorStore) -> None:
    first = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD)
    store.update_operator("op-0042", role=Role.TECHNICIAN, now=NOW)
    assert store.authenticate(first.token, NOW) is None
    second = store.sign_in(
        "EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD
    )
    principal = store.authenticate(second.token, NOW)
    assert principal is not None and principal.role is Role.TECHNICIAN
    store.update_operator("op-0042", disabled=True, now=NOW)
    assert store.authenticate(second.token, NOW) is None
    # re-enabling does not bring old sessions back
    store.update_operator("op-0042", disabled=False, now=NOW)
    assert store.authenticate(second.token, NOW) is None


def test_a_role_change_behind_the_stores_back_still_invalidates(store: OperatorStore) -> None:
    session = store.sign_in(
        "EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD
    )
    with sqlite3.connect(store.path) as other:  # e.g. another process edited the file
        other.execute("UPDATE operators SET role = 'admin' WHERE operator_id = 'op-0042'")
    assert store.authenticate(session.token, NOW) is None


def test_set_pin_replaces_the_pin_clears_holds_and_ends_sessions(store: OperatorStore) -> None:
    session = store.sign_in(
        "EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD
    )
    for _ in range(5):
        refusal(store, "EMP-004217", "482604")
    assert refusal(store, "EMP-004217", PIN).reason == "held_back"
    with pytest.raises(PinPolicyError):
        store.set_pin("op-0042", "5555", now=NOW)
    store.set_pin("op-0042", "482604", now=NOW)
    assert store.authenticate(session.token, NOW) is None
    assert refusal(store, "EMP-004217", PIN).reason == "wrong_pin"
    store.sign_in("EMP-004217", "482604", station="dock-1", now=NOW, by="badge", client=HANDHELD)
    with pytest.raises(UnknownOperatorError):
        store.set_pin("op-9999", "482604", now=NOW)


def test_update_changes_only_what_is_given(store: OperatorStore) -> None:
    later = NOW + timedelta(hours=1)
    renamed = store.update_operator("op-0042", name="Sam B. Berg", now=later)
    assert renamed.name == "Sam B. Berg"
    assert (renamed.badge, renamed.role) == ("EMP-004217", Role.OPERATOR)
    assert renamed.updated_at == later and renamed.created_at == NOW
    no_badge = store.update_operator("op-0042", badge=None, now=later)
    assert no_badge.badge is None
    assert refusal(store, "EMP-004217", PIN).reason == "unknown"
    with pytest.raises(UnknownOperatorError):
        store.update_operator("op-9999", name="x", now=later)


def test_the_last_enabled_admin_cannot_be_demoted_or_disabled(store: OperatorStore) -> None:
    with pytest.raises(LastAdminError):
        store.update_operator("op-admin", role=Role.TECHNICIAN, now=NOW)
    with pytest.raises(LastAdminError):
        store.update_operator("op-admin", disabled=True, now=NOW)
    store.update_operator("op-admin", name="Ada A. Admin", role=Role.ADMIN, now=NOW)  # no change
    store.add_operator("op-admin2", "Bo Admin", Role.ADMIN, PIN, now=NOW)
    store.update_operator("op-admin", disabled=True, now=NOW)
    assert store.count_admins() == 1  # a disabled admin does not count
    with pytest.raises(LastAdminError):
        store.update_operator("op-admin2", role=Role.OPERATOR, now=NOW)
    store.update_operator("op-admin", disabled=False, now=NOW)
    store.update_operator("op-admin2", role=Role.OPERATOR, now=NOW)
    assert store.count_admins() == 1


def test_reopening_keeps_everything_and_migrations_run_twice(store: OperatorStore) -> None:
    session = store.sign_in(
        "EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client=HANDHELD
    )
    store.close()
    with OperatorStore(store.path) as reopened:
        assert [o.operator_id for o in reopened.list_operators()] == ["op-0042", "op-admin"]
        assert reopened.authenticate(session.token, NOW) is not None
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_old_hashes_are_upgraded_at_sign_in(tmp_path: Path) -> None:
    path = tmp_path / "operators.db"
    with OperatorStore(path, hasher=PinHasher(time_cost=1, memory_cost_kib=8 * 1024)) as old:
        old.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, now=NOW)
    with OperatorStore(path) as store:
        store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code", client=HANDHELD)
    (pin_hash,) = sqlite3.connect(path).execute("SELECT pin_hash FROM operators").fetchone()
    assert "m=19456,t=2,p=1" in pin_hash


def test_an_ipv6_client_is_counted_by_its_64_prefix(store: OperatorStore) -> None:
    """A LAN host picks any number of addresses in its /64 (privacy addresses, SLAAC): counted
    per address, it would never be held back. An IPv4-mapped address is its IPv4 address."""
    for n in range(3):
        client = f"fd00:1:2:3::{n + 1:x}"
        assert refusal(store, "EMP-004217", "482604", client=client).reason == "wrong_pin"
    assert refusal(store, "EMP-004217", "482604", client="fd00:1:2:3::4").reason == "held_back"
    assert refusal(store, "EMP-004217", PIN, client="fd00:1:2:3:abcd::9").reason == "held_back"
    store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge", client="fd00:1:2:4::1")
    for _ in range(3):
        assert refusal(store, "EMP-999999", "482604", client="10.0.0.66").reason == "unknown"
    assert refusal(store, "EMP-999999", "482604", client="::ffff:10.0.0.66").reason == "held_back"
