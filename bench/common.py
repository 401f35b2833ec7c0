"""What the end-to-end benchmarks share: child processes measured on their own, emulators in
processes of their own (`bench/emulators.py`), the agent's command, figures in the shape of
bench/results.json, and the printed table.

A measured process is reaped with `os.wait4`, whose resource usage is
that child's alone: CPU seconds (user + system) and peak resident memory (`ru_maxrss`, the
kernel's high-water mark, the same figure as `VmHWM`), with no sampling to miss a spike. The
fork happens in a small launcher (`bench/measure.py`): Linux keeps the peak RSS across `exec`.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "EVENT_ID_KEY",
    "EmulatorProcess",
    "Measured",
    "agent_command",
    "figure",
    "load_average",
    "print_table",
    "run_measured",
    "start_emulator",
]

_PYTHON = sys.executable
_LAUNCHER = Path(__file__).with_name("measure.py")


@dataclass(frozen=True, slots=True)
class Measured:
    """One child process, start to exit: wall-clock and CPU seconds, peak RSS, exit code and
    the JSON summary it printed last on stdout (if any)."""

    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    exit_code: int
    summary: dict[str, Any]
    stderr_path: Path | None

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_bytes / 1_000_000


def _rusage_figures(usage: resource.struct_rusage) -> tuple[float, int]:
    # ru_maxrss is in kilobytes on Linux.
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def run_measured(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stderr_path: Path | None = None,
    timeout: float | None = None,
) -> Measured:
    """Run `command` to its end and measure it alone (through `bench/measure.py`, see there);
    its last stdout line, if JSON, is its summary. stderr goes to `stderr_path` (or is dropped)."""
    stderr: IO[bytes] | int = subprocess.DEVNULL
    with tempfile.TemporaryDirectory(prefix="nordpass-bench-measure-") as scratch:
        figures_path = Path(scratch) / "figures.json"
        launcher = [_PYTHON, str(_LAUNCHER), str(figures_path), "--", *command]
        with contextlib.ExitStack() as stack:
            if stderr_path is not None:
                stderr = stack.enter_context(stderr_path.open("wb"))
            # A session of its own, so that killing it reaches the command as well as the launcher.
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                launcher, stdout=subprocess.PIPE, stderr=stderr, env=env, start_new_session=True
            )

            def kill() -> None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

            # A runaway run is killed.
            watchdog = threading.Timer(timeout, kill) if timeout is not None else None
            if watchdog is not None:
                # A daemon, cancelled whatever happens: an interrupted run must not leave the
                # interpreter waiting out the timer before it exits.
                watchdog.daemon = True
                watchdog.start()
            try:
                assert process.stdout is not None
                with process.stdout:
                    output = process.stdout.read()
                process.wait()
            except BaseException:  # interrupted: the run goes too
                kill()
                process.wait()
                raise
            finally:
                if watchdog is not None:
                    watchdog.cancel()
        if process.returncode != 0 or not figures_path.exists():
            raise RuntimeError(f"measuring {command[:3]} failed (exit {process.returncode})")
        figures = json.loads(figures_path.read_text())
    return Measured(
        wall_seconds=figures["wall_seconds"],
        cpu_seconds=figures["cpu_seconds"],
        peak_rss_bytes=figures["peak_rss_bytes"],
        exit_code=figures["exit_code"],
        summary=_last_json(output),
        stderr_path=stderr_path,
    )


def _last_json(output: bytes) -> dict[str, Any]:
    for text in reversed(output.decode(errors="replace").splitlines()):
        line = text.strip()
        if line.startswith("{"):
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                return parsed
    return {}


class EmulatorProcess:
    """Emulators served by `python -m bench.emulators` in a process of their own. They print
    their addresses as one JSON line (`ready`), answer `stats` (and its arguments) on stdin with
    one JSON line, and stop on EOF."""

    def __init__(self, process: subprocess.Popen[str], ready: dict[str, Any]) -> None:
        self._process = process
        self.ready = ready

    def stats(self, *arguments: object) -> dict[str, Any]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(" ".join(["stats", *map(str, arguments)]) + "\n")
        self._process.stdin.flush()
        return dict(json.loads(self._process.stdout.readline()))

    def stop(self) -> tuple[float, int]:
        """Stop it; its CPU seconds and peak RSS in bytes."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        _, status, usage = os.wait4(self._process.pid, 0)
        self._process.returncode = os.waitstatus_to_exitcode(status)
        return _rusage_figures(usage)


@contextmanager
def start_emulator(kind: str, *options: str) -> Iterator[EmulatorProcess]:
    """`python -m bench.emulators KIND OPTIONS...` for the duration of the block."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [_PYTHON, "-m", "bench.emulators", kind, *options],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait()
        process.stdout.close()
        raise RuntimeError(f"the {kind} emulator did not start (exit code {process.returncode})")
    emulator = EmulatorProcess(process, json.loads(line))
    try:
        yield emulator
    finally:
        if process.returncode is None:
            if process.stdin is not None and not process.stdin.closed:
                process.stdin.close()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()


# Every benchmark's agent derives event ids with this key, so runs are comparable id for id.
EVENT_ID_KEY = "bench-event-id-key-0123456789abcdef"


def agent_command(profile: Path | None = None) -> list[str]:
    """`nordpass-agent`, under cProfile writing to `profile` if given."""
    if profile is not None:
        return [_PYTHON, "-m", "cProfile", "-o", str(profile), "-m", "agent"]
    script = Path(_PYTHON).with_name("nordpass-agent")
    return [str(script)] if script.exists() else [_PYTHON, "-m", "agent"]


def load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    target: float | None = None,
    higher_is_better: bool = True,
    **context: Any,
) -> dict[str, Any]:
    """One entry of bench/results.json; `pass` is None where there is no target."""
    passed = None
    if target is not None:
        passed = value >= target if higher_is_better else value <= target
    return {
        "name": name,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "target": target,
        "target_is": None if target is None else ("minimum" if higher_is_better else "maximum"),
        "pass": passed,
        # Other work on a shared machine slows every figure down: keep the context with it.
        "load_average": load_average(),
        **context,
    }


def print_table(figures: Sequence[dict[str, Any]]) -> None:
    """name, value, unit, target and verdict, one figure a line."""
    width = max((len(str(item["name"])) for item in figures), default=10)
    print(f"{'figure':{width}} {'value':>12}  {'unit':28} {'target':>12}  pass")
    for item in figures:
        target = item.get("target")
        bound = ">=" if item.get("target_is") == "minimum" else "<="
        shown_target = "-" if target is None else f"{bound}{_number(target)}"
        verdict = {True: "yes", False: "NO", None: "-"}[item.get("pass")]
        print(
            f"{item['name']:{width}} {_number(item['value']):>12}  {item['unit']:28} "
            f"{shown_target:>12}  {verdict}"
        )


def _number(value: Any) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)
