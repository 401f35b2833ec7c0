"""A measured run interrupted part-way (Ctrl-C) ends with its command, and leaves no watchdog
timer behind, which would keep the interpreter from exiting until the run's timeout."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

import pytest

from bench.common import run_measured

# Liveness bound, not a timing.
DEADLINE = 10.0


def _interrupt(*_: object) -> NoReturn:
    raise KeyboardInterrupt


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_an_interrupted_measured_run_ends_with_its_command(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
    command = [sys.executable, "-c", script + "time.sleep(60)"]
    before = set(threading.enumerate())
    previous = signal.signal(signal.SIGALRM, _interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.5)  # the interrupt comes while the run is under way
    try:
        with pytest.raises(KeyboardInterrupt):
            run_measured(command, timeout=3600)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert [thread for thread in set(threading.enumerate()) - before if thread.is_alive()] == []
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + DEADLINE
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
