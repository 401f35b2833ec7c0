"""The source: NordPass Business Activity Log API shapes and the async client that reads it.

The sandbox emulator lives in `agent.nordpass.emulator` and is imported on its own, so production
code never loads the server side.
"""

from agent.nordpass.client import DEFAULT_PER_PAGE, MAX_USER_UUIDS, ActivityClient, api_url
from agent.nordpass.http import HttpClientPool, HttpTimeouts
from agent.nordpass.models import (
    MAX_QUERY_SPAN_SECONDS,
    REGION_URLS,
    ActivityPage,
    InconsistencyKind,
    PageInconsistency,
    PageMetadata,
    PassResult,
    RawEvent,
)
from agent.nordpass.retry import (
    STATUS_ACTIONS,
    RetryPolicy,
    StatusAction,
    TransientHTTPError,
    action_for_status,
    parse_http_date,
    parse_retry_after,
    run_with_retries,
)
from agent.nordpass.windows import HalfOpenWindow, keep_in_window, split_window

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_QUERY_SPAN_SECONDS",
    "MAX_USER_UUIDS",
    "REGION_URLS",
    "STATUS_ACTIONS",
    "ActivityClient",
    "ActivityPage",
    "HalfOpenWindow",
    "HttpClientPool",
    "HttpTimeouts",
    "InconsistencyKind",
    "PageInconsistency",
    "PageMetadata",
    "PassResult",
    "RawEvent",
    "RetryPolicy",
    "StatusAction",
    "TransientHTTPError",
    "action_for_status",
    "api_url",
    "keep_in_window",
    "parse_http_date",
    "parse_retry_after",
    "run_with_retries",
    "split_window",
]
