"""Unwritable state directory: `run` and `backfill` must refuse to start with one clear error
naming the directory, and exit code 2 (configuration or state unusable), never a traceback.

Mode bits do not stop root, so when the tests run as root the agent's process starts without
the capabilities that override them (dropped from its bounding set before it executes).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import stat
import sys
from pathlib import Path

from agent.clock import SystemClock
from agent.nordpass.emulator import NordPassEmulator
from tests.reliability.deployment import Source
from tests.reliability.installation import Installation
from tests.reliability.scale import Scale
from tests.reliability.scoreboard import Outcome, Scoreboard, Tally

ORGANIZATION = "0000ffff-0000-4000-8000-000000000070"
TOKEN = "tok-unwritable-state"
T0 = 1_767_225_600
_PR_CAPBSET_DROP = 24
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore mode bits.
_FILE_OVERRIDES = (1, 2, 3)


def _without_file_overrides() -> None:
    """Runs in the child before exec: root keeps its uid but obeys mode bits like anyone."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _FILE_OVERRIDES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


async def _can_write_in(directory: Path) -> bool:
    """Whether a process started like the agent can create a file in `directory`."""
    probe = (
        "import pathlib, sys\n"
        "try:\n"
        f"    pathlib.Path({str(directory / 'probe')!r}).touch()\n"
        "except PermissionError:\n"
        "    sys.exit(3)\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, preexec_fn=_without_file_overrides
    )
    return await process.wait() == 0


async def test_an_unwritable_state_directory_stops_the_agent_with_a_clear_error_and_exit_2(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard
) -> None:
    emulator = NordPassEmulator(clock=SystemClock(), seed=7)
    emulator.add_organization(
        "unwritable", token=TOKEN, organization_uuid=ORGANIZATION, history_start=T0,
        history_end=T0 + 3600,
    )  # fmt: skip
    async with emulator:
        installation = Installation(
            tmp_path,
            Source(emulator, ORGANIZATION, TOKEN, T0, T0 + 3600),
            destinations={"archive": f"{{type: file, path: {tmp_path / 'out.ndjson'}}}"},
        )
        directory = installation.state.parent
        directory.mkdir()
        directory.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
        writable = await _can_write_in(directory)
        codes: dict[str, int] = {}
        messages: dict[str, str] = {}
        for command in (("run",), ("backfill", "--since", str(T0), "--until", str(T0 + 3600))):
            start = installation.log.stat().st_size if installation.log.exists() else 0
            process = await installation.start(*command, preexec_fn=_without_file_overrides)
            codes[command[0]] = await installation.finish(process, within=scale.liveness(60))
            messages[command[0]] = installation.log.read_bytes()[start:].decode(errors="replace")
        directory.chmod(stat.S_IRWXU)
        requests = len(emulator.requests)

    outcome = Outcome(
        "unwritable state",
        Tally.count([], []),
        notes="; ".join(
            f"{name}: exit {codes[name]}, {messages[name].strip()!r}" for name in codes
        ),
    )
    outcome.check(
        "the directory is unwritable for the agent's process",
        "writable" if writable else "unwritable",
        not writable,
    )
    for name, code in codes.items():
        message = messages[name]
        outcome.check(f"`{name}` exits with code 2", code, code == 2)
        outcome.check(
            f"`{name}` names the state directory and the reason, without a traceback",
            message.strip()[:200],
            str(directory) in message
            and "Permission denied" in message
            and "Traceback" not in message,
        )
    outcome.check("nothing was read from the API", requests, requests == 0)
    scoreboard.add(outcome)
    assert not outcome.broken, outcome.failure_message()
