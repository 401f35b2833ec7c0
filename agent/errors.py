"""The agent's error hierarchy, classified by what the caller must do about it.

    AgentError
    ├── RetryableError        try again later (transport faults, 429, 5xx, a drifting page set)
    │   ├── ResponseFormatError   a reply we could not parse; the request may succeed next time
    │   └── PageInconsistencyError  offset pages did not add up; re-read the window
    ├── FatalError            configuration or credentials: stop that tenant/destination loudly
    │   ├── AuthError             token rejected (expired or revoked)
    │   ├── RequestRefusedError   the API refused the request itself (its HTTP status kept)
    │   ├── TenantMismatchError   events from an organisation the tenant is not configured for
    │   └── ConfigError           the configuration file is invalid (all problems listed)
    └── PoisonError           this one event can never be delivered: dead-letter it

Messages name the tenant, destination and page involved and never contain a secret.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AgentError",
    "AuthError",
    "ConfigError",
    "FatalError",
    "PageInconsistencyError",
    "PoisonError",
    "RequestRefusedError",
    "ResponseFormatError",
    "RetryableError",
    "TenantMismatchError",
]


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class RetryableError(AgentError):
    """A transient failure; `retry_after` (seconds) is the peer's own hint, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ResponseFormatError(RetryableError):
    """A reply that is not the documented shape (malformed JSON, missing or mistyped fields)."""


class PageInconsistencyError(RetryableError):
    """Offset pages of one window did not add up to a complete, stable result set."""


class FatalError(AgentError):
    """Needs a human: bad configuration or credentials. Retrying will not help."""


class AuthError(FatalError):
    """The API rejected the token (expired, revoked or wrong)."""


class RequestRefusedError(FatalError):
    """The API refused the request itself: a status no retry changes (a 4xx other than auth,
    timeouts and rate limits, or one outside the API's table, such as a proxy's redirect)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class TenantMismatchError(FatalError):
    """The API returned events of an organisation the tenant is not configured for."""


class ConfigError(FatalError):
    """The configuration is invalid; `problems` lists every issue as `path: message`."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"configuration has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([heading, *(f"  {p}" for p in self.problems)]))


class PoisonError(AgentError):
    """A single event the destination will never accept; it belongs in the dead-letter table."""
