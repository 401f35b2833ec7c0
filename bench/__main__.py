"""`make bench`: every benchmark in sequence, each printing its table and merging its figures
into bench/results.json.

    python -m bench [--quick] [--only NAME ...]

A benchmark is a module of this package with a `main(argv)`; `BENCHMARKS` lists them in the
order they run, with the arguments of a full and of a quick run. At the end every figure of this
run is listed again with its target. A full run exits 1 when a target was missed; a quick run's
verdicts are indicative only (start-up weighs more in small runs) and it exits 0.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from datetime import UTC, datetime

from bench.common import print_table
from bench.render import RESULTS

# (module, arguments of a full run, arguments of a quick run)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("render", [], ["--events", "20000"]),
    ("backfill", [], ["--quick"]),
    ("api_latency", [], ["--quick"]),
    ("tenants", [], ["--quick"]),
    ("latency", [], ["--quick"]),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="reduced sizes, about a minute and a half in all"
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    args = parser.parse_args(argv)
    began_at = datetime.now(UTC).isoformat(timespec="seconds")
    for name, full, quick in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}")
        began = time.perf_counter()
        module.main(quick if args.quick else full)
        print(f"== {name}: {time.perf_counter() - began:.0f} s\n", flush=True)
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
