"""The repeat window, driven by a hand-held clock."""

from __future__ import annotations

from drivers.camera import RepeatFilter


def test_a_label_lying_under_the_camera_is_published_once() -> None:
    repeats = RepeatFilter(window=2.0)
    sightings = [0.0, 0.1, 0.2, 1.5, 3.0, 4.9]  # seen every frame or so, never gone 2 s
    assert [repeats.admit("RET-1", t) for t in sightings] == [True] + [False] * 5


def test_the_same_label_presented_again_after_the_window_is_published() -> None:
    repeats = RepeatFilter(window=2.0)
    assert repeats.admit("RET-1", 10.0)
    assert not repeats.admit("RET-1", 11.9)
    assert repeats.admit("RET-1", 13.9)  # out of sight for 2.0 s


def test_codes_are_independent() -> None:
    repeats = RepeatFilter(window=2.0)
    assert repeats.admit("RET-1", 0.0)
    assert repeats.admit("RET-2", 0.5)
    assert not repeats.admit("RET-1", 1.0)
    assert not repeats.admit("RET-2", 1.0)


def test_zero_window_publishes_every_read() -> None:
    repeats = RepeatFilter(window=0.0)
    assert all(repeats.admit("RET-1", t) for t in (0.0, 0.0, 0.1))


def test_memory_stays_bounded_with_many_codes() -> None:
    repeats = RepeatFilter(window=1.0)
    for i in range(2000):
        repeats.admit(f"RET-{i}", float(i))
    assert len(repeats._last_seen) <= 257
    assert repeats.admit("RET-0", 2001.0)
