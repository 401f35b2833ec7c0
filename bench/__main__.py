"""`make bench`: every benchmark in sequence, each printing its table and merging its figures
into bench/results.json.

    python -m bench [--quick] [--only NAME ...]

A benchmark is a module of this package with a `main(argv)`; `BENCHMARKS` lists them in the
order they run, with the arguments of a full and of a quick run. At the end every figure of this
run is listed again with its target. A full run exits 1 when a target was missed; a quick run's
verdicts are indicative only (start-up weighs more in small runs) and it exits 0.

A full run measures one benchmark at a time. A quick run starts the latency benchmark first, in
a process of its own, and runs the others meanwhile: its agent and emulators spend most of its
half minute waiting for the next poll (10 tenants at a few events a second), so it takes a few
percent of a core from the others and the whole run ends about half a minute sooner.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import print_table
from bench.render import RESULTS, merge_results

# (module, arguments of a full run, arguments of a quick run)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("render", [], ["--events", "20000"]),
    ("backfill", [], ["--quick"]),
    ("api_latency", [], ["--quick"]),
    ("tenants", [], ["--quick"]),
    ("latency", [], ["--quick"]),
]
# Of a quick run, the benchmark that runs beside the others (see above).
QUICK_BESIDE = "latency"


class Beside:
    """One benchmark run as `python -m bench.NAME ARGS --results FILE` beside the others, its
    output going to a file; its figures are merged into bench/results.json when it is collected.
    """

    # Longer than any quick benchmark takes: past it, collecting stops it.
    COLLECT_TIMEOUT = 600.0

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self._scratch = tempfile.TemporaryDirectory(prefix="nordpass-bench-beside-")
        scratch = Path(self._scratch.name)
        self._results = scratch / "results.json"
        self._output = (scratch / "output.txt").open("w+")
        self._began = time.perf_counter()
        command = [sys.executable, "-m", f"bench.{name}", *argv, "--results", str(self._results)]
        # A session of its own: stopping it reaches the agent and emulators it started.
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=self._output, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def session(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.poll()

    def collect(self, results: Path) -> None:
        """Wait for it (stopping it on Ctrl-C or past `COLLECT_TIMEOUT`), show its output and
        merge its figures into `results`."""
        try:
            self._process.wait(timeout=self.COLLECT_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self._output.seek(0)
        print(f"== {self.name} (beside the others)\n{self._output.read()}", end="")
        print(
            f"== {self.name}: {time.perf_counter() - self._began:.0f} s since it began\n",
            flush=True,
        )
        try:
            if self._process.returncode != 0 or not self._results.exists():
                raise SystemExit(f"{self.name} failed (exit {self._process.returncode})")
            merge_results(json.loads(self._results.read_text())["figures"], results)
        finally:
            self._close()

    def stop(self) -> None:
        """End it with whatever it started. An interrupt lets it stop its agent and emulators;
        whatever is left of its session after 30 s is killed."""
        try:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGINT)
                try:
                    self._process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._kill()
        except BaseException:  # a second Ctrl-C meanwhile
            self._kill()
            raise
        finally:
            self._close()

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # its session may have just ended
            os.killpg(self.session, signal.SIGKILL)
        self._process.wait()

    def _close(self) -> None:
        self._output.close()
        self._scratch.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes, about a minute in all")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    args = parser.parse_args(argv)
    began_at = datetime.now(UTC).isoformat(timespec="seconds")
    chosen = [item for item in BENCHMARKS if not args.only or item[0] in args.only]
    beside = None
    # Beside the others only when there are others.
    if args.quick and len(chosen) > 1:
        beside = next(
            (Beside(name, quick) for name, _, quick in chosen if name == QUICK_BESIDE), None
        )
    try:
        for name, full, quick in chosen:
            if beside is not None and name == beside.name:
                continue
            module = importlib.import_module(f"bench.{name}")
            print(f"== {name}")
            began = time.perf_counter()
            module.main(quick if args.quick else full)
            print(f"== {name}: {time.perf_counter() - began:.0f} s\n", flush=True)
    except BaseException:
        if beside is not None:
            beside.stop()
        raise
    if beside is not None:
        beside.collect(RESULTS)
    figures = [
        figure
        for figure in json.loads(RESULTS.read_text())["figures"]
        if figure.get("measured_at", "") >= began_at
    ]
    print(f"== every figure of this run ({'quick' if args.quick else 'full'} sizes)")
    print_table(figures)
    missed = [figure["name"] for figure in figures if figure.get("pass") is False]
    print(f"\ntargets missed: {', '.join(missed)}" if missed else "\nevery target met")
    if args.quick and missed:
        print("(quick sizes: indicative only, the targets are judged on a full run)")
    sys.exit(1 if missed and not args.quick else 0)


if __name__ == "__main__":
    main()
