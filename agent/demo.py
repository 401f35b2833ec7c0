"""`make demo`: the whole path on one machine, checked against the sandbox's ground truth.

Starts the emulated NordPass API in this process with two organisations and two days of history,
writes a configuration for them, runs the real `nordpass-agent backfill` as a separate process
into a local NDJSON file, and compares what arrived with what the emulator says exists.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from agent.clock import SystemClock
from agent.nordpass.emulator import NordPassEmulator

__all__ = ["main"]

WORKDIR = Path("demo")
ORGANIZATIONS = {
    "acme": "101b4232-0688-4599-bca8-4636c91cd687",
    "globex": "5f0c6a8e-3b9d-4e21-9a57-c2d4e8f1a036",
}
HISTORY_SECONDS = 2 * 86400
EVENTS_PER_SECOND = 0.012  # about 2,000 events per organisation over two days

CONFIG = """\
state: sqlite:///{state}
defaults: {{poll_interval: 30s, settle_delay: 5s, lookback: 15m, page_size: 100}}
destinations:
  local-file: {{type: file, path: {output}, format: native}}
tenants:
{tenants}
"""
TENANT = """\
  {name}:
    nordpass:
      url: "{url}"
      token: "${{{variable}}}"
      organization_uuid: "{uuid}"
      requests_per_second: 20
    destinations: [local-file]
    start: {start}
"""


async def _run() -> int:
    clock = SystemClock()
    until = math.floor(clock.now())
    since = until - HISTORY_SECONDS
    emulator = NordPassEmulator(clock=clock, seed=2026)
    environ = dict(os.environ)
    for name, uuid in ORGANIZATIONS.items():
        token = f"sandbox-token-{name}"
        emulator.add_organization(
            name,
            token=token,
            organization_uuid=uuid,
            events_per_second=EVENTS_PER_SECOND,
            history_start=since,
        )
        environ[f"{name.upper()}_NORDPASS_TOKEN"] = token
    url = await emulator.start()
    try:
        config_path = _write_config(url, since)
        report_path = WORKDIR / "backfill-report.json"
        started = time.monotonic()
        agent = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent", "backfill",
            "--config", str(config_path), "--since", str(since), "--until", str(until),
            "--report", str(report_path),
            env={**environ, "NORDPASS_AGENT_LOG_FORMAT": "console"},
        )  # fmt: skip
        exit_code = await agent.wait()
        elapsed = time.monotonic() - started
        truth = {
            name: len(emulator.ground_truth(uuid, since, until))
            for name, uuid in ORGANIZATIONS.items()
        }
    finally:
        await emulator.stop()
    return _summarize(exit_code, elapsed, truth, report_path)


def _write_config(url: str, since: int) -> Path:
    tenants = "".join(
        TENANT.format(
            name=name, url=url, variable=f"{name.upper()}_NORDPASS_TOKEN", uuid=uuid, start=since
        )
        for name, uuid in ORGANIZATIONS.items()
    )
    path = WORKDIR / "agent.yaml"
    path.write_text(
        CONFIG.format(state=WORKDIR / "state.db", output=WORKDIR / "out" / "events.ndjson",
                      tenants=tenants)
    )  # fmt: skip
    return path


def _summarize(exit_code: int, elapsed: float, truth: dict[str, int], report_path: Path) -> int:
    output = WORKDIR / "out" / "events.ndjson"
    lines = output.read_text().splitlines() if output.exists() else []
    per_tenant = Counter(json.loads(line)["tenant"] for line in lines)
    unique_ids = len({json.loads(line)["event_id"] for line in lines})
    report = json.loads(report_path.read_text()) if report_path.exists() else {"tenants": []}
    fetched = {entry["tenant"]: entry["fetched"] for entry in report["tenants"]}
    delivered = {
        entry["tenant"]: entry["delivered"].get("local-file", 0) for entry in report["tenants"]
    }
    print("\nnordpass-siem-agent demo: backfill of the sandbox's last two days")
    print(f"{'tenant':<10}{'ground truth':>14}{'fetched':>10}{'delivered':>11}{'in file':>9}")
    ok = exit_code == 0 and unique_ids == len(lines)
    for name, expected in truth.items():
        row = (expected, fetched.get(name, 0), delivered.get(name, 0), per_tenant.get(name, 0))
        ok = ok and len(set(row)) == 1
        print(f"{name:<10}{row[0]:>14}{row[1]:>10}{row[2]:>11}{row[3]:>9}")
    total = sum(truth.values())
    print(f"{'total':<10}{total:>14}{sum(fetched.values()):>10}{sum(delivered.values()):>11}"
          f"{len(lines):>9}")  # fmt: skip
    print(
        f"\n{len(lines)} lines, {unique_ids} distinct ids, {elapsed:.1f} s, agent exit {exit_code}"
    )
    print(f"events:        {output}")
    print(f"configuration: {WORKDIR / 'agent.yaml'}")
    print(f"state:         {WORKDIR / 'state.db'}")
    print(
        "RESULT: " + ("OK, every ground-truth event delivered exactly once" if ok else "MISMATCH")
    )
    return 0 if ok else 1


def main() -> None:
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)  # every demo starts from nothing, so it can run again and again
    WORKDIR.mkdir()
    sys.exit(asyncio.run(_run()))


if __name__ == "__main__":
    main()
