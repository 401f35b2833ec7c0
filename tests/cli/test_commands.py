"""The `nordpass-agent` commands as a user runs them: real processes against the sandbox API."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.clock import SystemClock
from agent.nordpass.emulator import NordPassEmulator
from connectors.splunk_hec.emulator import HecEmulator, HecKnobs

ORG = "101b4232-0688-4599-bca8-4636c91cd687"
TOKEN = "tok-acme-7f3a9c"
DAY = 86400


@pytest.fixture
async def emulator() -> AsyncIterator[NordPassEmulator]:
    clock = SystemClock()
    emu = NordPassEmulator(clock=clock, seed=11)
    emu.add_organization(
        "acme",
        token=TOKEN,
        organization_uuid=ORG,
        events_per_second=0.02,
        history_start=clock.now() - 2 * DAY,
    )
    await emu.start()
    yield emu
    await emu.stop()


def write_config(tmp_path: Path, url: str, *, start: str = "1d", poll: str = "60s") -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(
        f"""
state: sqlite:///{tmp_path}/state.db
defaults: {{poll_interval: {poll}, settle_delay: 1s, lookback: 5m}}
destinations:
  local-file: {{type: file, path: {tmp_path}/out/events.ndjson}}
tenants:
  acme:
    nordpass: {{url: "{url}", token: "${{ACME_TOKEN}}", organization_uuid: "{ORG}"}}
    destinations: [local-file]
    start: {start}
"""
    )
    return path


async def agent(*arguments: str, token: str = TOKEN) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ACME_TOKEN": token, "NORDPASS_AGENT_LOG_FORMAT": "json"},
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def delivered(tmp_path: Path) -> list[dict[str, object]]:
    output = tmp_path / "out" / "events.ndjson"
    return [json.loads(line) for line in output.read_text().splitlines()]


def without_agent_fields(event: dict[str, object]) -> str:
    return json.dumps(
        {k: v for k, v in event.items() if k not in ("event_id", "tenant")}, sort_keys=True
    )


async def test_backfill_writes_exactly_the_ground_truth_of_the_range(
    tmp_path: Path, emulator: NordPassEmulator
) -> None:
    config = write_config(tmp_path, emulator.url)
    until = math.floor(time.time()) - 60
    since = until - 2 * DAY + 3600
    code, stdout, _ = await agent(
        "backfill", "-c", str(config), "--since", str(since), "--until", str(until)
    )
    assert code == 0, stdout
    truth = emulator.ground_truth(ORG, since, until)
    events = delivered(tmp_path)
    expected = sorted(json.dumps(event, sort_keys=True) for event in truth)
    assert sorted(map(without_agent_fields, events)) == expected
    assert len({event["event_id"] for event in events}) == len(truth) > 2000
    assert f"fetched {len(truth)}" in stdout

    # Running the same backfill again delivers nothing twice.
    code, _, _ = await agent(
        "backfill", "-c", str(config), "--since", str(since), "--until", str(until)
    )
    assert code == 0
    assert len(delivered(tmp_path)) == len(truth)


async def test_a_backfill_stopped_by_sigterm_still_reports_and_exits_1(tmp_path: Path) -> None:
    clock = SystemClock()
    busy = NordPassEmulator(clock=clock, seed=12)  # far more than the test lets it read
    busy.add_organization("acme", token=TOKEN, organization_uuid=ORG, events_per_second=2.0,
                          history_start=clock.now() - 2 * DAY)  # fmt: skip
    await busy.start()
    config = tmp_path / "agent.yaml"
    config.write_text(
        f"""
state: sqlite:///{tmp_path}/state.db
defaults: {{page_size: 1000, backfill_slice: 1h}}
destinations:
  local-file: {{type: file, path: {tmp_path}/out/events.ndjson}}
tenants:
  acme:
    nordpass: {{url: "{busy.url}", token: "${{ACME_TOKEN}}", requests_per_second: 1000}}
    destinations: [local-file]
"""
    )
    report = tmp_path / "report.json"
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent", "backfill", "-c", str(config), "--since", "2d",
            "--report", str(report), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "ACME_TOKEN": TOKEN},
        )  # fmt: skip
        output = tmp_path / "out" / "events.ndjson"
        async with asyncio.timeout(60):  # bounded waits: it is under way, then it stops
            while not output.exists() or output.stat().st_size == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            stdout, _ = await process.communicate()
    finally:
        await busy.stop()
    assert process.returncode == 1
    assert "INCOMPLETE" in stdout.decode()
    summary = json.loads(report.read_text())
    assert summary["complete"] is False
    assert "the agent is stopping" in summary["tenants"][0]["error"]
    assert 0 < summary["tenants"][0]["fetched"] < len(busy.ground_truth(ORG, 0, round(clock.now())))


async def test_backfill_with_a_revoked_token_exits_non_zero_naming_the_tenant_not_the_token(
    tmp_path: Path, emulator: NordPassEmulator
) -> None:
    emulator.revoke(TOKEN)
    config = write_config(tmp_path, emulator.url)
    code, stdout, stderr = await agent("backfill", "-c", str(config), "--since", "1h")
    assert code == 1
    assert "acme: fetched 0" in stdout
    assert "INCOMPLETE" in stdout
    assert "rejected the API token" in stdout
    assert TOKEN not in stdout + stderr


async def test_check_reports_all_configuration_problems_with_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(
        """
state: postgres://nowhere
defaults: {poll_interval: often}
destinations:
  out: {type: file}
tenants:
  acme:
    nordpass: {region: moon, token: "${ACME_TOKEN}"}
    destinations: [nowhere]
"""
    )
    code, _, stderr = await agent("check", "--offline", "-c", str(config))
    assert code == 2
    assert "configuration has 5 problems" in stderr
    assert "tenants.acme.destinations[0]: unknown destination 'nowhere'" in stderr
    assert TOKEN not in stderr


async def test_check_reaches_the_api_and_flags_a_revoked_token(
    tmp_path: Path, emulator: NordPassEmulator
) -> None:
    config = write_config(tmp_path, emulator.url)
    code, stdout, _ = await agent("check", "-c", str(config))
    assert code == 0, stdout
    assert "ok   tenant acme: API reachable" in stdout
    emulator.revoke(TOKEN)
    code, stdout, stderr = await agent("check", "-c", str(config))
    assert code == 1
    assert "FAIL tenant acme" in stdout
    assert TOKEN not in stdout + stderr


async def test_a_second_agent_on_the_same_state_exits_with_code_2(
    tmp_path: Path, emulator: NordPassEmulator
) -> None:
    config = write_config(tmp_path, emulator.url, poll="1s")
    runner = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "run", "-c", str(config),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ACME_TOKEN": TOKEN, "NORDPASS_AGENT_LOG_FORMAT": "json"},
    )  # fmt: skip
    try:
        output = tmp_path / "out" / "events.ndjson"
        expected = len(emulator.ground_truth(ORG, math.floor(time.time()) - DAY, None))
        for _ in range(300):  # the first cycle backfills the day; wait for it, at most 30 s
            if output.exists() and len(output.read_text().splitlines()) >= expected:
                break
            await asyncio.sleep(0.1)
        assert len(output.read_text().splitlines()) >= expected
        code, _, stderr = await agent("backfill", "-c", str(config), "--since", "1h")
        assert code == 2
        assert "in use by another agent process" in stderr
    finally:
        runner.send_signal(signal.SIGTERM)
        await asyncio.wait_for(runner.wait(), timeout=30)
    assert runner.returncode == 0


async def test_dead_letters_replay_waits_only_for_the_destinations_of_the_letters(
    tmp_path: Path, emulator: NordPassEmulator
) -> None:
    hec = HecEmulator(knobs=HecKnobs(), seed=2)
    hec.add_token("hec-token", name="msp", default_index="nordpass")
    await hec.start()
    try:
        now = math.floor(time.time())
        truth = emulator.ground_truth(ORG, now - DAY, now)
        hec.knobs.poison = frozenset({f'"timestamp":{truth[len(truth) // 2]["timestamp"]}'})
        config = tmp_path / "agent.yaml"

        def write(other_url: str, other_token: str) -> None:
            config.write_text(f"""
state: sqlite:///{tmp_path}/state.db
destinations:
  splunk: {{type: splunk_hec, url: "{hec.url}", token: hec-token, index: nordpass, gzip: false}}
  other: {{type: splunk_hec, url: "{other_url}", token: {other_token}, index: nordpass}}
tenants:
  acme:
    nordpass: {{url: "{emulator.url}", token: "${{ACME_TOKEN}}", organization_uuid: "{ORG}"}}
    destinations: [splunk, other]
""")

        # `other`'s token is refused: the backfill leaves it a backlog, and `splunk` letters.
        write(hec.url, "unknown-token")
        code, stdout, _ = await agent("backfill", "-c", str(config), "--since", "1d")
        assert code == 1, stdout
        assert "kept as dead letters" in stdout
        # Now `other` is down (nothing listens there): a wait for it would not end.
        write("http://127.0.0.1:9", "hec-token")
        hec.knobs.poison = frozenset()
        async with asyncio.timeout(60):  # a guard only
            code, stdout, _ = await agent("dead-letters", "replay", "-c", str(config))
        assert code == 0, stdout
        assert "0 refused again" in stdout
    finally:
        await hec.stop()
