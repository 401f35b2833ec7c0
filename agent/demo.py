"""`make demo`: the whole path on one machine, checked against the sandbox's ground truth.

Starts the emulated NordPass API and an emulated Splunk HTTP Event Collector in this process, with
two organisations and two days of history, writes a configuration for them, runs the real
`nordpass-agent backfill` as a separate process into a local NDJSON file and into Splunk (gzip,
indexer acknowledgement, one index per organisation as an MSP sets it up), and compares what
arrived in both with what the emulator says exists.
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
from connectors.splunk_hec.emulator import HecEmulator

__all__ = ["main"]

WORKDIR = Path("demo")
ORGANIZATIONS = {
    "acme": "101b4232-0688-4599-bca8-4636c91cd687",
    "globex": "5f0c6a8e-3b9d-4e21-9a57-c2d4e8f1a036",
}
HISTORY_SECONDS = 2 * 86400
EVENTS_PER_SECOND = 0.012  # about 2,000 events per organisation over two days

HEC_TOKEN_VARIABLE = "SPLUNK_HEC_TOKEN"  # noqa: S105 - the name of the variable
CONFIG = """\
state: sqlite:///{state}
defaults: {{poll_interval: 30s, settle_delay: 5s, lookback: 15m, page_size: 100}}
destinations:
  local-file: {{type: file, path: {output}, format: native}}
  splunk:
    type: splunk_hec
    url: "{hec_url}"
    token: "${{{hec_variable}}}"
    indexer_ack: true
    ack_poll_interval: 200ms
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
    destinations:
      - local-file
      - {{name: splunk, index: {name}}}
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
    splunk = HecEmulator(seed=2026)
    hec_token = "00000000-demo-4000-8000-000000000001"  # noqa: S105 - the sandbox's own
    splunk.add_token(hec_token, name="nordpass", default_index="main", ack=True,
                     indexes=list(ORGANIZATIONS))  # fmt: skip
    environ[HEC_TOKEN_VARIABLE] = hec_token
    url = await emulator.start()
    hec_url = await splunk.start()
    try:
        config_path = _write_config(url, hec_url, since)
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
        (WORKDIR / "splunk").mkdir()
        splunk.write_ndjson(WORKDIR / "splunk" / "indexed.ndjson")
        in_splunk = Counter(
            (event.fields.get("tenant"), event.index, event.fields.get("event_id"))
            for event in splunk.indexed
        )
    finally:
        await splunk.stop()
        await emulator.stop()
    return _summarize(exit_code, elapsed, truth, report_path, in_splunk)


def _write_config(url: str, hec_url: str, since: int) -> Path:
    tenants = "".join(
        TENANT.format(
            name=name, url=url, variable=f"{name.upper()}_NORDPASS_TOKEN", uuid=uuid, start=since
        )
        for name, uuid in ORGANIZATIONS.items()
    )
    path = WORKDIR / "agent.yaml"
    path.write_text(
        CONFIG.format(state=WORKDIR / "state.db", output=WORKDIR / "out" / "events.ndjson",
                      hec_url=hec_url, hec_variable=HEC_TOKEN_VARIABLE, tenants=tenants)
    )  # fmt: skip
    return path


def _summarize(
    exit_code: int,
    elapsed: float,
    truth: dict[str, int],
    report_path: Path,
    in_splunk: Counter[tuple[str | None, str, str | None]],
) -> int:
    output = WORKDIR / "out" / "events.ndjson"
    lines = output.read_text().splitlines() if output.exists() else []
    per_tenant = Counter(json.loads(line)["tenant"] for line in lines)
    unique_ids = len({json.loads(line)["event_id"] for line in lines})
    report = json.loads(report_path.read_text()) if report_path.exists() else {"tenants": []}
    fetched = {entry["tenant"]: entry["fetched"] for entry in report["tenants"]}
    delivered = {
        entry["tenant"]: entry["delivered"].get("local-file", 0) for entry in report["tenants"]
    }
    # Indexed once each, and in the organisation's own index.
    splunk_once = Counter(
        tenant for (tenant, index), copies in _by_index(in_splunk).items() if tenant == index
        for _ in range(copies)
    )  # fmt: skip
    splunk_duplicates = sum(copies - 1 for copies in in_splunk.values())
    print("\nnordpass-siem-agent demo: backfill of the sandbox's last two days")
    print(f"{'tenant':<10}{'ground truth':>14}{'fetched':>10}{'delivered':>11}{'in file':>9}"
          f"{'in Splunk':>11}")  # fmt: skip
    ok = exit_code == 0 and unique_ids == len(lines) and splunk_duplicates == 0
    for name, expected in truth.items():
        row = (
            expected,
            fetched.get(name, 0),
            delivered.get(name, 0),
            per_tenant.get(name, 0),
            splunk_once.get(name, 0),
        )
        ok = ok and len(set(row)) == 1
        print(f"{name:<10}{row[0]:>14}{row[1]:>10}{row[2]:>11}{row[3]:>9}{row[4]:>11}")
    total = sum(truth.values())
    print(f"{'total':<10}{total:>14}{sum(fetched.values()):>10}{sum(delivered.values()):>11}"
          f"{len(lines):>9}{sum(splunk_once.values()):>11}")  # fmt: skip
    print(
        f"\n{len(lines)} lines, {unique_ids} distinct ids, {splunk_duplicates} duplicates in "
        f"Splunk, {elapsed:.1f} s, agent exit {exit_code}"
    )
    print(f"events:        {output}")
    print(f"in Splunk:     {WORKDIR / 'splunk' / 'indexed.ndjson'} (index = organisation)")
    print(f"configuration: {WORKDIR / 'agent.yaml'}")
    print(f"state:         {WORKDIR / 'state.db'}")
    print(
        "RESULT: "
        + ("OK, every ground-truth event delivered exactly once to each" if ok else "MISMATCH")
    )
    return 0 if ok else 1


def _by_index(
    indexed: Counter[tuple[str | None, str, str | None]],
) -> Counter[tuple[str | None, str]]:
    """Distinct events per (tenant, index)."""
    return Counter((tenant, index) for tenant, index, _ in indexed)


def main() -> None:
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)  # every demo starts from nothing, so it can run again and again
    WORKDIR.mkdir()
    sys.exit(asyncio.run(_run()))


if __name__ == "__main__":
    main()
