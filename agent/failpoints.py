"""Test-only crash points: `NORDPASS_AGENT_FAILPOINTS="after_append=3"` kills the process with
SIGKILL the 3rd time the pipeline passes `after_append`. Unset (always, in production) it does
nothing. Crash-safety tests use it to stop the real agent at the worst moments.

Points: `mid_page` (between two pages of one pass), `after_append` (inside the transaction that
appends new events, before it commits), `after_send` (a destination confirmed a batch, its offset
is not yet committed).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping

__all__ = ["ENVIRONMENT_VARIABLE", "Failpoints"]

ENVIRONMENT_VARIABLE = "NORDPASS_AGENT_FAILPOINTS"


class Failpoints:
    def __init__(self, armed: Mapping[str, int] | None = None) -> None:
        self._remaining = dict(armed or {})

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Failpoints:
        armed = {}
        for item in filter(None, environ.get(ENVIRONMENT_VARIABLE, "").split(",")):
            name, _, count = item.partition("=")
            armed[name.strip()] = int(count or "1")
        return cls(armed)

    def hit(self, name: str) -> None:
        if name not in self._remaining:
            return
        self._remaining[name] -= 1
        if self._remaining[name] <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
