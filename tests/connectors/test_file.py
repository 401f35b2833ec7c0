"""The file destination: one native JSON line per event, confirmed only once written."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.errors import FatalError
from connectors import OutboundEvent
from connectors.file import (
    FileDestination,
    FileDestinationConfig,
    StdoutDestination,
    StdoutDestinationConfig,
    repair_partial_line,
)

RAW = {"type": "login", "action": "user_login_successful", "timestamp": 5, "extra": {"x": "é"}}


def outbound(index: int) -> OutboundEvent:
    return OutboundEvent(tenant="acme", event_id=f"id-{index}", raw={**RAW, "timestamp": index})


async def test_each_event_is_one_line_with_raw_fields_id_and_tenant(tmp_path: Path) -> None:
    path = tmp_path / "out" / "events.ndjson"
    destination = FileDestination("f", FileDestinationConfig(type="file", path=path))
    report = await destination.send([outbound(1), outbound(2)])
    await destination.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert report.delivered == 2
    assert lines[0] == {**RAW, "timestamp": 1, "event_id": "id-1", "tenant": "acme"}
    assert [line["event_id"] for line in lines] == ["id-1", "id-2"]


async def test_a_partial_last_line_left_by_a_crash_is_cut_on_open(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"a":1}\n{"b":2}\n{"c":')
    destination = FileDestination("f", FileDestinationConfig(type="file", path=path))
    await destination.send([outbound(3)])
    await destination.close()
    lines = path.read_text().splitlines()
    assert lines[:2] == ['{"a":1}', '{"b":2}']
    assert json.loads(lines[2])["event_id"] == "id-3"
    assert len(lines) == 3


# Run apart: the file size limit (a real write failure, as a full disk gives) applies to the
# whole process.
_WRITE_FAILS_THEN_RETRY = textwrap.dedent(
    """
    import asyncio, resource, signal, sys
    from pathlib import Path
    from agent.errors import FatalError
    from connectors import OutboundEvent
    from connectors.file import FileDestination, FileDestinationConfig

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write over the limit fails with EFBIG
    path, limit = Path(sys.argv[1]), int(sys.argv[2])
    destination = FileDestination("f", FileDestinationConfig(type="file", path=path))
    first = [OutboundEvent("acme", "id-0", {"n": 0})]
    batch = [OutboundEvent("acme", f"id-{i}", {"n": i, "pad": "x" * 3000}) for i in range(1, 6)]

    async def main() -> None:
        await destination.send(first)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        try:
            await destination.send(batch)
        except FatalError as error:
            print("failed:", error)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        await destination.send(batch)  # the dispatcher's retry, once there is room
        await destination.close()

    asyncio.run(main())
    """
)


def test_a_failed_write_leaves_nothing_behind_for_its_retry(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    for limit in (1000, 7000):  # the batch breaks off inside its first line, then its third
        path.unlink(missing_ok=True)
        run = subprocess.run(  # noqa: S603 - this interpreter, this test's own script
            [sys.executable, "-c", _WRITE_FAILS_THEN_RETRY, str(path), str(limit)],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert "failed: destination 'f': cannot write" in run.stdout
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert [line["event_id"] for line in lines] == [f"id-{i}" for i in range(6)]


async def test_a_file_rotated_away_is_opened_anew_at_its_path(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    destination = FileDestination("f", FileDestinationConfig(type="file", path=path))
    await destination.send([outbound(1)])
    path.rename(tmp_path / "events.ndjson.1")  # what logrotate does
    await destination.send([outbound(2)])
    path.unlink()  # or deleted outright
    await destination.send([outbound(3)])
    await destination.close()
    assert json.loads((tmp_path / "events.ndjson.1").read_text())["event_id"] == "id-1"
    assert [json.loads(line)["event_id"] for line in path.read_text().splitlines()] == ["id-3"]


async def test_the_check_leaves_a_line_being_written_alone(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"a":1}\n{"b":')  # a running agent is half-way through a line
    destination = FileDestination("f", FileDestinationConfig(type="file", path=path))
    health = await destination.check()
    assert health.ok
    assert path.read_bytes() == b'{"a":1}\n{"b":'


def test_repair_leaves_complete_files_alone_and_empties_a_lone_fragment(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    whole.write_bytes(b"x\n" * 40000)
    assert repair_partial_line(whole) == 0
    fragment = tmp_path / "fragment"
    fragment.write_bytes(b"y" * 70000)
    assert repair_partial_line(fragment) == 70000
    assert fragment.read_bytes() == b""
    assert repair_partial_line(tmp_path / "absent") == 0


async def test_health_reports_an_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = FileDestinationConfig(type="file", path=blocker / "sub" / "events.ndjson")
    health = await FileDestination("f", config).check()
    assert not health.ok


async def test_stdout_destination_writes_the_same_lines() -> None:
    stream = io.BytesIO()
    destination = StdoutDestination("s", StdoutDestinationConfig(type="stdout"), stream=stream)
    await destination.send([outbound(1)])
    assert json.loads(stream.getvalue())["event_id"] == "id-1"


async def test_stdout_whose_reader_went_away_is_a_clear_failure_not_a_crash() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone: writing gives a broken pipe
    stream = os.fdopen(write_end, "wb")
    destination = StdoutDestination("s", StdoutDestinationConfig(type="stdout"), stream=stream)
    with pytest.raises(FatalError, match="destination 's': cannot write standard output"):
        await destination.send([outbound(1)])
    await destination.close()  # shutting down goes on
    with contextlib.suppress(OSError):  # what is left in its buffer cannot go anywhere
        stream.close()
