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
    """One benchmark run as `python -m bench.NAME ARGS --results FILE` beside the others; its
    figures are merged into bench/results.json when it is collected."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self._scratch = tempfile.TemporaryDirectory(prefix="nordpass-bench-beside-")
        self._results = Path(self._scratch.name) / "results.json"
        self._began = time.perf_counter()
        command = [sys.executable, "-m", f"bench.{name}", *argv, "--results", str(self._results)]
        # A session of its own: stopping it reaches the agent and emulators it started.
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    @property
    def session(self) -> int:
        return self._process.pid

    def collect(self, results: Path) -> None:
        output, _ = self._process.communicate()
        print(f"== {self.name} (beside the others)\n{output}", end="")
        print(
            f"== {self.name}: {time.perf_counter() - self._began:.0f} s since it began\n",
            flush=True,
        )
        with self._scratch:
            if self._process.returncode != 0 or not self._results.exists():
                raise SystemExit(f"{self.name} failed (exit {self._process.returncode})")
            merge_results(json.loads(self._results.read_text())["figures"], results)

    def stop(self) -> None:
        """When a benchmark in front failed: end this one too. An interrupt lets it stop the
        agent and emulators it started; whatever is left of its session after 30 s is killed."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.session, signal.SIGKILL)
                self._process.communicate()
        self._scratch.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes, about a minute in all")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    args = parser.parse_args(argv)
    began_at = datetime.now(UTC).isoformat(timespec="seconds")
    chosen = [item for item in BENCHMARKS if not args.only or item[0] in args.only]
    beside = None
    if args.quick:
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
