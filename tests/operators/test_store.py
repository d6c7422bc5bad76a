"""The operator store on a real SQLite file: operators, PIN lockout, sessions, last-admin rule."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.operators import (
    LastAdminError,
    LockoutPolicy,
    OperatorConflictError,
    OperatorInputError,
    OperatorStore,
    PinHasher,
    PinPolicyError,
    Role,
    SignInError,
    UnknownOperatorError,
)

NOW = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
PIN = "739164"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OperatorStore]:
    with OperatorStore(tmp_path / "operators.db") as s:
        s.add_operator("op-admin", "Ada Admin", Role.ADMIN, PIN, badge="ADM-0001", now=NOW)
        s.add_operator("op-0042", "Sam Berg", Role.OPERATOR, PIN, badge="EMP-004217", now=NOW)
        yield s


def refusal(store: OperatorStore, credential: str, pin: str, **kw: object) -> SignInError:
    by = kw.pop("by", "badge")
    now = kw.pop("now", NOW)
    with pytest.raises(SignInError) as refused:
        store.sign_in(credential, pin, station="dock-1", now=now, by=by)  # type: ignore[arg-type]
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
    by_badge = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
    by_code = store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code")
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


def test_lockout_after_five_wrong_pins_refuses_even_the_right_pin(store: OperatorStore) -> None:
    for _ in range(4):
        assert refusal(store, "EMP-004217", "482604").reason == "wrong_pin"
    fifth = refusal(store, "EMP-004217", "482604")
    assert fifth.reason == "locked"
    assert fifth.locked_until == NOW + timedelta(seconds=300)
    almost = NOW + timedelta(seconds=299)
    while_locked = refusal(store, "EMP-004217", PIN, now=almost)
    assert while_locked.reason == "locked" and while_locked.locked_until == fifth.locked_until
    sam = store.get("op-0042")
    assert sam is not None and sam.is_locked(almost) and sam.failed_attempts == 5

    after = NOW + timedelta(seconds=300)
    store.sign_in("EMP-004217", PIN, station="dock-1", now=after, by="badge")
    sam = store.get("op-0042")
    assert sam is not None and sam.failed_attempts == 0 and not sam.is_locked(after)


def test_after_a_lock_expires_one_more_wrong_pin_locks_again(store: OperatorStore) -> None:
    for _ in range(5):
        refusal(store, "EMP-004217", "482604")
    later = NOW + timedelta(minutes=10)
    again = refusal(store, "EMP-004217", "482604", now=later)
    assert again.reason == "locked" and again.locked_until == later + timedelta(seconds=300)


def test_a_correct_pin_resets_the_count(store: OperatorStore) -> None:
    for _ in range(4):
        refusal(store, "EMP-004217", "482604")
    store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
    for _ in range(4):
        assert refusal(store, "EMP-004217", "482604").reason == "wrong_pin"


def test_lockout_is_configurable_and_admin_can_unlock(tmp_path: Path) -> None:
    policy = LockoutPolicy(max_failures=2, lock_seconds=60)
    with OperatorStore(tmp_path / "operators.db", lockout=policy) as store:
        store.add_operator("op-0042", "Sam", Role.OPERATOR, PIN, now=NOW)
        assert refusal(store, "op-0042", "482604", by="code").reason == "wrong_pin"
        locked = refusal(store, "op-0042", "482604", by="code")
        assert locked.locked_until == NOW + timedelta(seconds=60)
        store.unlock("op-0042", now=NOW)
        store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code")
        with pytest.raises(UnknownOperatorError):
            store.unlock("op-9999", now=NOW)


def test_disabled_operator_is_told_only_with_the_right_pin(store: OperatorStore) -> None:
    store.update_operator("op-0042", disabled=True, now=NOW)
    assert refusal(store, "EMP-004217", "482604").reason == "wrong_pin"
    assert refusal(store, "EMP-004217", PIN).reason == "disabled"


def test_token_is_stored_only_as_its_sha256(store: OperatorStore) -> None:
    session = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
    on_disk = file_bytes(store.path.parent)
    assert session.token.encode() not in on_disk
    assert session.token[:12].encode() not in on_disk
    stored = sqlite3.connect(store.path).execute("SELECT token_sha256 FROM sessions").fetchall()
    assert stored == [(hashlib.sha256(session.token.encode()).hexdigest(),)]


def test_expired_revoked_and_unknown_tokens_are_refused(store: OperatorStore) -> None:
    session = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
    assert store.authenticate(session.token, session.expires_at - timedelta(seconds=1))
    assert store.authenticate(session.token, session.expires_at) is None
    assert store.authenticate("not-a-token", NOW) is None
    assert store.authenticate("", NOW) is None
    assert store.sign_out(session.token, NOW)
    assert store.authenticate(session.token, NOW) is None
    assert not store.sign_out(session.token, NOW)  # already ended


def test_role_change_or_disabling_ends_sessions(store: OperatorStore) -> None:
    first = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
    store.update_operator("op-0042", role=Role.TECHNICIAN, now=NOW)
    assert store.authenticate(first.token, NOW) is None
    second = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
    principal = store.authenticate(second.token, NOW)
    assert principal is not None and principal.role is Role.TECHNICIAN
    store.update_operator("op-0042", disabled=True, now=NOW)
    assert store.authenticate(second.token, NOW) is None
    # re-enabling does not bring old sessions back
    store.update_operator("op-0042", disabled=False, now=NOW)
    assert store.authenticate(second.token, NOW) is None


def test_a_role_change_behind_the_stores_back_still_invalidates(store: OperatorStore) -> None:
    session = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
    with sqlite3.connect(store.path) as other:  # e.g. another process edited the file
        other.execute("UPDATE operators SET role = 'admin' WHERE operator_id = 'op-0042'")
    assert store.authenticate(session.token, NOW) is None


def test_set_pin_replaces_the_pin_clears_lockout_and_ends_sessions(store: OperatorStore) -> None:
    session = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
    for _ in range(5):
        refusal(store, "EMP-004217", "482604")
    with pytest.raises(PinPolicyError):
        store.set_pin("op-0042", "5555", now=NOW)
    store.set_pin("op-0042", "482604", now=NOW)
    assert store.authenticate(session.token, NOW) is None
    assert refusal(store, "EMP-004217", PIN).reason == "wrong_pin"
    store.sign_in("EMP-004217", "482604", station="dock-1", now=NOW, by="badge")
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
    session = store.sign_in("EMP-004217", PIN, station="dock-1", now=NOW, by="badge")
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
        store.sign_in("op-0042", PIN, station="dock-1", now=NOW, by="code")
    (pin_hash,) = sqlite3.connect(path).execute("SELECT pin_hash FROM operators").fetchone()
    assert "m=19456,t=2,p=1" in pin_hash
