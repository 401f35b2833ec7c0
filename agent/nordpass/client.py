"""The async client of one tenant's NordPass Activity Log API.

It sends one query (`fetch_page`), pages a query with fixed bounds to its reported `total` while
recording every way the offset pages fail to add up (`read_pass`), reads half-open windows of any
length (`read_window`) and asks for a window's size cheaply (`probe_total`).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Sequence

import httpx
import structlog
from pydantic import SecretStr

from agent.errors import AuthError, RequestRefusedError
from agent.failpoints import Failpoints
from agent.nordpass.models import (
    MAX_PER_PAGE,
    REGION_URLS,
    ActivityPage,
    PageInconsistency,
    PassResult,
    RawEvent,
)
from agent.nordpass.pacing import RequestPacer
from agent.nordpass.repeats import find_repeats, replace_seconds, whole_second
from agent.nordpass.replies import parse_page
from agent.nordpass.retry import (
    RetryPolicy,
    StatusAction,
    TransientHTTPError,
    action_for_status,
    parse_http_date,
    parse_retry_after,
    run_with_retries,
)
from agent.nordpass.windows import keep_in_window, split_window

__all__ = ["DEFAULT_PER_PAGE", "MAX_USER_UUIDS", "ActivityClient", "api_url"]

DEFAULT_PER_PAGE = 100
# The API accepts at most 500 member uuids in one `user_uuids` filter.
MAX_USER_UUIDS = 500
_BODY_EXCERPT_CHARS = 200
# The statuses with which an API refuses a page larger than it allows.
_PAGE_SIZE_REFUSALS = frozenset({400, 413, 422})

_log = structlog.get_logger("agent.nordpass.client")


def api_url(*, region: str | None = None, url: str | None = None) -> str:
    """The query URL of a tenant: an explicit `url` (a proxy, the sandbox) wins over `region`."""
    if url is not None:
        return url
    if region is None:
        raise ValueError("a tenant needs either a region or an explicit url")
    try:
        return REGION_URLS[region.lower()]
    except KeyError:
        known = ", ".join(sorted(REGION_URLS))
        raise ValueError(f"unknown NordPass region {region!r}; known regions: {known}") from None


class ActivityClient:
    """Reads one tenant's activity log. Collaborators come in; the client owns no connection.

    `http` is usually shared with other tenants (see `HttpClientPool`), so closing it is the
    owner's job. The token is sent as the raw `Authorization` header and appears nowhere else.
    """

    def __init__(
        self,
        tenant: str,
        url: str,
        token: SecretStr,
        *,
        http: httpx.AsyncClient,
        retry: RetryPolicy,
        per_page: int = DEFAULT_PER_PAGE,
        pacer: RequestPacer | None = None,
        failpoints: Failpoints | None = None,
        timeout: float | None = None,
        one_second: Callable[[int], tuple[int, int] | None] | None = None,
    ) -> None:
        """`one_second` gives the query bounds that hold exactly one second, once the API's bound
        convention is known (the tenants of one endpoint learn it together); without it, or
        before that, a second is read again with the seconds either side."""
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}")
        self.tenant = tenant
        self.url = url
        self.per_page = per_page
        self._token = token
        self._http = http
        self._retry = retry
        self._pacer = pacer
        # Read/write/pool timeout per request; None keeps the shared client's own.
        self._timeout = (
            None if timeout is None else httpx.Timeout(timeout, connect=min(timeout, 10.0))
        )
        self._failpoints = failpoints or Failpoints()
        self._one_second = one_second
        self._large_pages = True  # until the API refuses a page of MAX_PER_PAGE rows

    def __repr__(self) -> str:
        return f"ActivityClient(tenant={self.tenant!r}, url={self.url!r}, per_page={self.per_page})"

    async def fetch_page(
        self,
        page: int,
        *,
        timestamp_from: int | None = None,
        timestamp_to: int | None = None,
        per_page: int | None = None,
        user_uuids: Sequence[str] | None = None,
    ) -> ActivityPage:
        """One page of one query, retried on transient failures, validated and parsed.

        Raises `AuthError` when the token is refused, `RequestRefusedError` (a `FatalError`) for
        any other rejected request,
        `TransientHTTPError` (a `RetryableError`) once the attempts are used up, and
        `ResponseFormatError` for a reply that is not the documented shape (not retried here:
        the caller decides whether to read the window again).
        """
        if page < 1:
            raise ValueError(f"pages are numbered from 1, got {page}")
        body = _request_body(
            page=page,
            per_page=self.per_page if per_page is None else per_page,
            timestamp_from=timestamp_from,
            timestamp_to=timestamp_to,
            user_uuids=user_uuids,
        )
        context = self._context(page)
        try:
            response = await run_with_retries(self._retry, lambda: self._send_once(body, context))
        except TransientHTTPError as last:
            raise TransientHTTPError(
                f"{context}: NordPass still failing after {self._retry.attempts} attempts; "
                f"last failure: {last}",
                status=last.status,
                retry_after=last.retry_after,
            ) from last
        return parse_page(
            response.content,
            context=context,
            page=page,
            server_time=parse_http_date(response.headers.get("Date")),
        )

    async def read_pass(
        self, timestamp_from: int, timestamp_to: int, *, user_uuids: Sequence[str] | None = None
    ) -> PassResult:
        """Every page of one query with these exact bounds, as received (no filtering).

        Pages at the server's own `metadata.per_page` (it may cap the requested size) until the
        rows received reach `metadata.total`. Anything that shows the pages were not one stable
        result set is recorded in `inconsistencies`, never silently accepted: an empty page before
        `total` (the pass stops there), a short page that is not the last, `total` changing, more
        rows than `total`, or hitting the hard page cap. Rows received on two pages are settled by
        reading their seconds again, or recorded (`agent.nordpass.repeats`). `server_time` is the
        first page's `Date`, the moment from which the pass can claim to have seen everything.
        """
        result = PassResult(timestamp_from=timestamp_from, timestamp_to=timestamp_to)
        page_cap: int | None = None
        page_sizes: list[int] = []
        more = True
        while more:
            page = await self.fetch_page(
                result.pages + 1,
                timestamp_from=timestamp_from,
                timestamp_to=timestamp_to,
                user_uuids=user_uuids,
            )
            if page_cap is None:
                page_cap = _page_cap(page.metadata.total, page.metadata.per_page)
                result.server_time = page.server_time
            more = _absorb_page(result, page)
            page_sizes.append(len(page.events))
            if more:
                self._failpoints.hit("mid_page")
            if more and result.pages >= page_cap:
                detail = f"stopped at the cap of {page_cap} pages with {result.rows_received}"
                detail += f" of {result.total} rows received"
                result.inconsistencies.append(PageInconsistency("page_limit", page.page, detail))
                more = False
        if result.verified and result.pages > 1:
            await self._settle_repeated_rows(result, page_sizes, user_uuids)
        return result

    async def _settle_repeated_rows(
        self, result: PassResult, page_sizes: list[int], user_uuids: Sequence[str] | None
    ) -> None:
        """Read each second whose rows straddled pages again, alone in one page, and take those
        rows instead; record repeats that this cannot explain (see `agent.nordpass.repeats`)."""
        found = find_repeats(result.events, page_sizes)
        if found.drifted:
            second, page = min(found.drifted.items())
            detail = f"rows of second {second} came again on page {page}: the pages drifted"
            result.inconsistencies.append(PageInconsistency("repeated_rows", page, detail))
            return
        settled: dict[int, list[RawEvent]] = {}
        for second in found.straddling:
            rows = await self._read_second_alone(second, user_uuids)
            if rows is None:
                # Deferring would stall the tenant for good; the pass's own rows are right
                # unless the order within this second is unstable.
                _log.warning("second too large to re-read in one page; rows kept as paged",
                             tenant=self.tenant, second=second)  # fmt: skip
                continue
            settled[second] = rows
        result.events = replace_seconds(result.events, settled)
        if len(result.events) != result.total:
            detail = f"{len(result.events)} rows for a total of {result.total} once the seconds "
            detail += f"repeated across pages were read again: {sorted(settled)}"
            result.inconsistencies.append(PageInconsistency("repeated_rows", result.pages, detail))

    async def _read_second_alone(
        self, second: int, user_uuids: Sequence[str] | None
    ) -> list[RawEvent] | None:
        """The rows of `second` from the first page of a query around it, or None if that page may
        not hold them all. The page is as large as the agent ever asks for, not `per_page`: the
        seconds that straddle pages are the crowded ones (a bulk import writes hundreds of rows
        in one second). An API that refuses so large a page (400, 413 or 422) but answers at
        `per_page` is asked at `per_page` from then on; any other refusal is raised as before.
        """
        exact = None if self._one_second is None else self._one_second(second)
        low, high = exact or (second - 1, second + 1)
        per_page = max(self.per_page, MAX_PER_PAGE) if self._large_pages else self.per_page
        try:
            alone = await self.fetch_page(
                1, timestamp_from=low, timestamp_to=high, per_page=per_page, user_uuids=user_uuids
            )
        except RequestRefusedError as error:
            if per_page == self.per_page or error.status not in _PAGE_SIZE_REFUSALS:
                raise
            alone = await self.fetch_page(
                1, timestamp_from=low, timestamp_to=high, user_uuids=user_uuids
            )
            # Refused at MAX_PER_PAGE, answered at per_page: the size was the problem.
            self._large_pages = False
            _log.warning("NordPass refused a larger page; seconds are read again at page_size",
                         tenant=self.tenant, per_page=per_page, error=str(error))  # fmt: skip
        return whole_second(alone.events, alone.metadata.total, second)

    async def read_window(
        self, start: int, end: int, *, user_uuids: Sequence[str] | None = None
    ) -> AsyncIterator[PassResult]:
        """Read the half-open window `[start, end)` of whole Unix seconds, one pass at a time.

        Each query asks for `start - 1 .. end` and keeps only rows with `start <= timestamp <
        end`, which is right whichever bound convention the API uses. A window whose query would
        exceed the API's 90-day limit is cut into consecutive sub-windows (`split_window`) and
        one `PassResult` is yielded per sub-window, in time order, so the caller can checkpoint
        after each. In a result, `timestamp_from`/`timestamp_to` are the query bounds: the
        sub-window is `[timestamp_from + 1, timestamp_to)`; `events` holds the rows kept and
        `rows_received` all rows the pages carried. An empty window yields nothing.
        """
        for window in split_window(start, end):
            result = await self.read_pass(window.query_from, window.query_to, user_uuids=user_uuids)
            kept = keep_in_window(result.events, window)
            result.rows_below = sum(1 for e in result.events if e["timestamp"] < window.start)
            result.rows_above = len(result.events) - len(kept) - result.rows_below
            result.events = kept
            yield result

    async def probe_total(
        self, start: int, end: int, *, user_uuids: Sequence[str] | None = None
    ) -> tuple[int, float | None]:
        """`metadata.total` for the window `[start, end)` and the server time, asking one row.

        The total is the API's count for the widened query (see `read_window`), so it may include
        rows on the edge seconds; it is meant for comparing with an earlier probe or pass of the
        same window. A window over 90 days costs one request per sub-window and sums their totals.
        """
        total = 0
        server_time: float | None = None
        for window in split_window(start, end):
            page = await self.fetch_page(
                1,
                timestamp_from=window.query_from,
                timestamp_to=window.query_to,
                per_page=1,
                user_uuids=user_uuids,
            )
            total += page.metadata.total
            server_time = page.server_time if server_time is None else server_time
        return total, server_time

    async def count(self, timestamp_from: int, timestamp_to: int) -> int:
        """`metadata.total` for these exact query bounds (one request, one row asked)."""
        page = await self.fetch_page(
            1, timestamp_from=timestamp_from, timestamp_to=timestamp_to, per_page=1
        )
        return page.metadata.total

    async def _send_once(self, body: dict[str, object], context: str) -> httpx.Response:
        if self._pacer is not None:
            await self._pacer.acquire()
        headers = {
            "Authorization": self._token.get_secret_value(),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            if self._timeout is None:
                response = await self._http.post(self.url, json=body, headers=headers)
            else:
                response = await self._http.post(
                    self.url, json=body, headers=headers, timeout=self._timeout
                )
        except httpx.TransportError as err:
            raise TransientHTTPError(
                f"could not reach NordPass ({self._masked(_describe_transport_error(err))})",
                status=None,
                retry_after=None,
            ) from err
        status = response.status_code
        match action_for_status(status):
            case StatusAction.ACCEPT:
                return response
            case StatusAction.RETRY:
                server_time = parse_http_date(response.headers.get("Date"))
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"),
                    reference_time=self._retry.now() if server_time is None else server_time,
                )
                hint = "" if retry_after is None else f", Retry-After {retry_after:g} s"
                raise TransientHTTPError(
                    f"HTTP {status}{hint}", status=status, retry_after=retry_after
                )
            case StatusAction.UNAUTHORIZED:
                raise AuthError(
                    f"tenant {self.tenant!r}: NordPass rejected the API token (HTTP {status}): "
                    "it may have expired or been revoked; create a new Custom token in the "
                    "Admin Panel (Integrations → Events reporting)"
                )
            case StatusAction.FAIL:
                raise RequestRefusedError(
                    f"{context}: NordPass refused the request (HTTP {status}): "
                    f"{self._body_excerpt(response)}",
                    status=status,
                )

    def _context(self, page: int) -> str:
        return f"tenant {self.tenant!r} page {page}"

    def _masked(self, text: str) -> str:
        """`text` without the token, should an error of the HTTP stack have quoted it."""
        token = self._token.get_secret_value()
        return text.replace(token, "**********") if token else text

    def _body_excerpt(self, response: httpx.Response) -> str:
        """The start of an error body on one line, without the token even if it was echoed."""
        # The token is masked in the whole body first: cut first, a token straddling the cut
        # would keep its first characters.
        text = response.content.decode("utf-8", errors="replace")
        token = self._token.get_secret_value()
        if token:
            text = text.replace(token, "**********")
        text = " ".join(text[: _BODY_EXCERPT_CHARS * 4].split())
        if len(text) > _BODY_EXCERPT_CHARS:
            text = text[:_BODY_EXCERPT_CHARS] + "…"
        return repr(text) if text else "(empty body)"


def _request_body(
    *,
    page: int,
    per_page: int,
    timestamp_from: int | None,
    timestamp_to: int | None,
    user_uuids: Sequence[str] | None,
) -> dict[str, object]:
    """The JSON query. Absent bounds are left out (the API then defaults to the last 7 days)."""
    body: dict[str, object] = {"page": page, "per_page": per_page}
    if timestamp_from is not None:
        body["timestamp_from"] = timestamp_from
    if timestamp_to is not None:
        body["timestamp_to"] = timestamp_to
    if user_uuids:
        if len(user_uuids) > MAX_USER_UUIDS:
            raise ValueError(
                f"at most {MAX_USER_UUIDS} user_uuids per query, got {len(user_uuids)}"
            )
        body["user_uuids"] = list(user_uuids)
    return body


def _page_cap(total: int, per_page: int) -> int:
    """The most pages one pass may read: enough for `total`, plus slack for rows that arrive
    while paging (which already marks the pass inconsistent), so a server that never reaches its
    own `total` cannot keep the pass going forever."""
    expected = max(1, math.ceil(total / per_page))
    return expected + max(2, expected // 10)


def _absorb_page(result: PassResult, page: ActivityPage) -> bool:
    """Add one page to the pass and record what does not add up; True while pages remain."""
    received = len(page.events)
    total = page.metadata.total
    if result.pages and total != result.total:
        detail = f"total was {result.total} before page {page.page} and {total} on it"
        result.inconsistencies.append(PageInconsistency("total_changed", page.page, detail))
    result.total = total
    result.pages += 1
    result.rows_received += received
    result.events.extend(page.events)
    if received == 0 and result.rows_received < total:
        detail = f"no rows with {result.rows_received} of {total} received; pass stopped"
        result.inconsistencies.append(PageInconsistency("empty_page", page.page, detail))
        return False
    if result.rows_received > total:
        detail = f"{result.rows_received} rows received but total is {total}"
        result.inconsistencies.append(PageInconsistency("overrun", page.page, detail))
        return False
    if result.rows_received == total:
        return False
    if received < page.metadata.per_page:
        detail = f"{received} rows on a page of {page.metadata.per_page}, and not the last"
        result.inconsistencies.append(PageInconsistency("short_page", page.page, detail))
    return True


def _describe_transport_error(err: httpx.TransportError) -> str:
    # Timeouts often carry an empty message; the class name alone says what happened.
    message = str(err)
    return f"{type(err).__name__}: {message}" if message else type(err).__name__
