"""`nordpass-agent check` as a user runs it: a wrong HEC token is one clear line, without the
token, and the command fails."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.clock import SystemClock
from agent.nordpass.emulator import NordPassEmulator
from connectors.splunk_hec.emulator import HecEmulator

ORG = "101b4232-0688-4599-bca8-4636c91cd687"
NORDPASS_TOKEN = "tok-check"
HEC_TOKEN = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
WRONG_TOKEN = "ffffffff-not-the-token-ffffffffffff"


@pytest.fixture
async def nordpass() -> AsyncIterator[NordPassEmulator]:
    clock = SystemClock()
    emulator = NordPassEmulator(clock=clock, seed=1)
    emulator.add_organization(
        "acme", token=NORDPASS_TOKEN, organization_uuid=ORG, history_start=clock.now() - 86400
    )
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def splunk() -> AsyncIterator[HecEmulator]:
    emulator = HecEmulator()
    emulator.add_token(HEC_TOKEN, default_index="nordpass")
    await emulator.start()
    yield emulator
    await emulator.stop()


async def check(tmp_path: Path, nordpass: str, hec: str, token: str) -> tuple[int, str]:
    config = tmp_path / "agent.yaml"
    config.write_text(
        f"""
state: sqlite:///{tmp_path}/state.db
destinations:
  splunk: {{type: splunk_hec, url: "{hec}", token: "${{HEC_TOKEN}}", index: nordpass}}
tenants:
  acme:
    nordpass: {{url: "{nordpass}", token: {NORDPASS_TOKEN}, organization_uuid: "{ORG}"}}
    destinations: [splunk]
"""
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "check", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "HEC_TOKEN": token, "NORDPASS_AGENT_LOG_FORMAT": "json"},
    )  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_a_wrong_hec_token_is_one_clear_line_without_the_token(
    tmp_path: Path, nordpass: NordPassEmulator, splunk: HecEmulator
) -> None:
    code, output = await check(tmp_path, nordpass.url, splunk.url, WRONG_TOKEN)
    assert code == 1
    (line,) = [line for line in output.splitlines() if "destination splunk" in line]
    assert line == (
        "FAIL destination splunk: the destination's token: HEC rejected the token; "
        'check `token` (HTTP 403, code 4 "Invalid token")'
    )
    assert WRONG_TOKEN not in output


async def test_a_good_token_passes_the_check(
    tmp_path: Path, nordpass: NordPassEmulator, splunk: HecEmulator
) -> None:
    code, output = await check(tmp_path, nordpass.url, splunk.url, HEC_TOKEN)
    assert code == 0, output
    assert f"ok   destination splunk: HEC healthy at {splunk.url}, 1 token(s) accepted" in output
