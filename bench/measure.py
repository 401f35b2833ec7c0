"""Runs one command and writes its own CPU seconds and peak RSS as JSON, from a small process.

    python bench/measure.py RESULT.json -- COMMAND [ARG ...]

Linux carries a process's peak RSS across `exec`, so a child forked straight from a benchmark
that holds a large spool would report the benchmark's memory as its own. Forked from this small
launcher (standard library only, a few MB), the command's `ru_maxrss` is its own.
"""

import json
import os
import sys
import time


def main() -> None:
    result, separator, *command = sys.argv[1:]
    assert separator == "--", "usage: measure.py RESULT.json -- COMMAND [ARG ...]"
    began = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)  # noqa: S606 - the command to measure
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    figures = {
        "wall_seconds": time.perf_counter() - began,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # kilobytes on Linux
        "exit_code": os.waitstatus_to_exitcode(status),
    }
    with open(result, "w", encoding="utf-8") as handle:
        json.dump(figures, handle)
    sys.exit(0)


if __name__ == "__main__":
    main()
