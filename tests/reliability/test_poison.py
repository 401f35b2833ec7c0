"""Poison events: HEC refuses one event in 10,000 (code 6, as Splunk does for an event it cannot
parse). Exactly those must become dead letters, every other event must arrive once, and after
the fault is cleared `dead-letters replay` must deliver them, with their original ids.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from connectors.splunk_hec.emulator import HecEmulator
from tests.reliability.deployment import Source, canonical
from tests.reliability.installation import Installation, hec_receipts
from tests.reliability.scale import Scale
from tests.reliability.scoreboard import Outcome, Scoreboard, Tally
from tests.reliability.sources import hec_destination, organisation

ORGANIZATION = "9015e000-0000-4000-8000-000000000040"
TOKEN = "tok-poison"
T0 = 1_767_225_600 + 30 * 86400
RANGE = (T0, T0 + 2 * 86400)
POISON_ONE_IN = 10_000


def poisoned_seconds(truth_seconds: list[int], rng: random.Random) -> set[int]:
    """One event in POISON_ONE_IN, each alone in its second, so that its `timestamp` marks it and
    nothing else in the HEC request (the emulator refuses envelopes containing a marker)."""
    alone = sorted(second for second, n in Counter(truth_seconds).items() if n == 1)
    return set(rng.sample(alone, max(1, round(len(truth_seconds) / POISON_ONE_IN))))


async def test_poison_events_are_dead_lettered_alone_and_replayed_once_the_fault_is_cleared(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator
) -> None:
    async with organisation(
        ORGANIZATION, TOKEN, events=scale.poison_events, since=RANGE[0], until=RANGE[1]
    ) as source:
        await run_poison(tmp_path, scale, scoreboard, hec, source)


async def run_poison(
    tmp_path: Path, scale: Scale, scoreboard: Scoreboard, hec: HecEmulator, source: Source
) -> None:
    events = source.emulator.ground_truth(source.organization_uuid, source.since, source.until)
    truth = source.ground_truth()
    seconds = poisoned_seconds([event["timestamp"] for event in events], random.Random(40))
    poisoned = Counter(canonical(event) for event in events if event["timestamp"] in seconds)
    # The connector sends compact JSON: `"timestamp":<ten digits>` occurs only in that event.
    hec.knobs.poison = frozenset(f'"timestamp":{second}' for second in seconds)
    installation = Installation(
        tmp_path,
        source,
        destinations={"splunk": hec_destination(hec)},
        batch_max_events=1000,
    )
    backfill_code = await installation.backfill(within=scale.liveness(180))
    before = Tally.count(truth, hec_receipts(hec))
    missing = Counter(truth) - Counter(canonical for _, canonical in hec_receipts(hec))
    dead_letters = installation.state_view().dead_letters
    listed = await _dead_letter_ids(installation)

    hec.knobs.poison = frozenset()
    replay_code = await installation.finish(
        await installation.start("dead-letters", "replay"), within=scale.liveness(60)
    )
    after = Tally.count(truth, hec_receipts(hec))
    replayed = Counter(canonical for event_id, canonical in hec_receipts(hec) if event_id in listed)
    left = installation.state_view().dead_letters

    outcome = Outcome(
        "poison",
        after,
        dead_letters=dead_letters,
        notes=(
            f"{poisoned.total()} poisoned of {len(truth)}; backfill exit {backfill_code}; "
            f"before the replay: delivered {before.delivered}, lost {before.lost}"
        ),
    )
    outcome.check("the dead letters are exactly the poisoned events", dead_letters,
                  dead_letters == poisoned.total() and missing == poisoned)  # fmt: skip
    outcome.check("the backfill reports them undelivered (exit 1)", backfill_code,
                  backfill_code == 1)  # fmt: skip
    outcome.check("`dead-letters list` names each of them", len(listed),
                  len(listed) == poisoned.total())  # fmt: skip
    outcome.check("before the replay, duplicates 0", before.duplicates, before.duplicates == 0)
    outcome.check("`dead-letters replay` succeeds (exit 0)", replay_code, replay_code == 0)
    outcome.check("the replay delivers the poisoned events under the listed ids",
                  replayed.total(), replayed == poisoned)  # fmt: skip
    outcome.check("no dead letter left after the replay", left, left == 0)
    outcome.check("lost 0", after.lost, after.lost == 0)
    outcome.check("duplicates 0", after.duplicates, after.duplicates == 0)
    outcome.check("nothing foreign, one event per id", after.unexpected, after.unexpected == 0)
    scoreboard.add(outcome)
    assert not outcome.broken, outcome.failure_message() + "\n" + installation.log_tail()


async def _dead_letter_ids(installation: Installation) -> set[str]:
    """Event ids from `dead-letters list` (id, tenant, destination, event id, ... per line)."""
    start = installation.log.stat().st_size if installation.log.exists() else 0
    code = await installation.finish(await installation.start("dead-letters", "list"), within=60)
    assert code == 0, installation.log_tail()
    text = installation.log.read_bytes()[start:].decode(errors="replace")
    return {line.split("\t")[3] for line in text.splitlines() if line.count("\t") >= 4}
