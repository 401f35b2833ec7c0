"""`make bench`: every benchmark in sequence, each printing its table and merging its figures
into bench/results.json.

    python -m bench [--quick] [--only NAME ...]

A benchmark is a module of this package with a `main(argv)`; `BENCHMARKS` lists them in the
order they run, with the arguments of a full and of a quick run. A listed module that does not
exist (yet) is skipped with a note.
"""

from __future__ import annotations

import argparse
import importlib
import time

# (module, arguments of a full run, arguments of a quick run)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("render", [], ["--events", "50000"]),
    ("backfill", [], ["--quick"]),
    ("api_latency", [], ["--quick"]),
    ("tenants", [], ["--quick"]),
    ("latency", [], ["--quick"]),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes, about a minute each")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    args = parser.parse_args(argv)
    for name, full, quick in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"bench.{name}":
                raise
            print(f"== {name}: not available, skipped\n")
            continue
        print(f"== {name}")
        began = time.perf_counter()
        module.main(quick if args.quick else full)
        print(f"== {name}: {time.perf_counter() - began:.0f} s\n", flush=True)


if __name__ == "__main__":
    main()
