"""Child processes that die with the process that started them, even when it is SIGKILLed.

Linux sends a child its parent-death signal (`prctl(PR_SET_PDEATHSIG)`) when the *thread* that
forked it ends, not the process. So every tied child is forked from one spawner thread that lives
as long as the process: a child started from a short-lived worker thread would otherwise be
stopped when that thread finished. Elsewhere than Linux the child is started untied.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
DEATH_SIGNAL = signal.SIGTERM  # Mosquitto saves its persistence file on SIGTERM

_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tied-child-spawner")


def _load_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_prctl = _load_prctl()


def popen_tied(args: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[bytes]:
    """`subprocess.Popen(args, **popen_kwargs)`, the child tied to this process's life."""
    return _spawner.submit(_popen, list(args), popen_kwargs).result()


def _popen(args: list[str], popen_kwargs: dict[str, Any]) -> subprocess.Popen[bytes]:
    parent, prctl = os.getpid(), _prctl

    def tie() -> None:  # runs in the child between fork and exec
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(DEATH_SIGNAL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the tie held
            os._exit(1)

    return subprocess.Popen(args, preexec_fn=tie, **popen_kwargs)
