"""What each reliability scenario measured, and the table the suite prints at its end.

A `Tally` compares what a receiver got with the emulator's ground truth: every figure is counted
from those two, never assumed. A scenario adds its tally, its dead letters and the bounds it
checked to the session's `Scoreboard` before it asserts, so a broken bound still shows in the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Check", "Outcome", "Scoreboard", "Tally"]


@dataclass(frozen=True, slots=True)
class Tally:
    """Received events against the ground truth, both as canonical strings."""

    expected: int
    delivered: int  # events of the ground truth received at least once
    lost: int  # events of the ground truth never received
    duplicates: int  # extra copies: receipts beyond the first of each event id
    unexpected: int  # receipts that are not ground truth, or ids naming two different events

    @classmethod
    def count(cls, truth: Iterable[str], received: Iterable[tuple[str, str]]) -> Tally:
        """`received`: (event_id, canonical event) per receipt, in any order."""
        by_id: dict[str, str] = {}
        receipts = conflicts = 0
        for event_id, event in received:
            receipts += 1
            if by_id.setdefault(event_id, event) != event:
                conflicts += 1
        wanted, got = Counter(truth), Counter(by_id.values())
        return cls(
            expected=wanted.total(),
            delivered=(wanted & got).total(),
            lost=(wanted - got).total(),
            duplicates=receipts - len(by_id),
            unexpected=(got - wanted).total() + conflicts,
        )


@dataclass(frozen=True, slots=True)
class Check:
    """One bound of a scenario: what it demands, what was measured, whether it holds."""

    bound: str
    measured: str
    holds: bool


@dataclass(slots=True)
class Outcome:
    scenario: str
    tally: Tally
    dead_letters: int = 0
    checks: list[Check] = field(default_factory=list)
    notes: str = ""

    def check(self, bound: str, measured: object, holds: bool) -> None:
        self.checks.append(Check(bound, str(measured), holds))

    @property
    def broken(self) -> list[Check]:
        return [check for check in self.checks if not check.holds]

    @property
    def verdict(self) -> str:
        return "FAIL" if self.broken else "pass"

    def failure_message(self) -> str:
        return "; ".join(f"{c.bound} (measured {c.measured})" for c in self.broken)


_COLUMNS = ("scenario", "expected", "delivered", "lost", "duplicates", "dead letters", "verdict")


class Scoreboard:
    """The session's outcomes, in the order the scenarios ran."""

    def __init__(self, scale: str) -> None:
        self.scale = scale
        self.outcomes: list[Outcome] = []

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def table(self) -> str:
        rows = [_COLUMNS] + [
            (
                o.scenario,
                str(o.tally.expected),
                str(o.tally.delivered),
                str(o.tally.lost),
                str(o.tally.duplicates),
                str(o.dead_letters),
                o.verdict,
            )
            for o in self.outcomes
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]

        def line(row: tuple[str, ...]) -> str:
            cells = [
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            return "  ".join(cells)

        out = [f"reliability scenarios ({self.scale} size)", line(rows[0])]
        out += ["  ".join("-" * width for width in widths)]
        out += [line(row) for row in rows[1:]]
        out += [""]
        for outcome in self.outcomes:
            out.append(f"{outcome.scenario}: {outcome.notes}".rstrip(": "))
            out += [
                f"  [{'ok' if c.holds else 'BROKEN'}] {c.bound}: {c.measured}"
                for c in outcome.checks
            ]
        return "\n".join(out)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.table() + "\n")
